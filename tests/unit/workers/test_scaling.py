"""Pure tests of partition placement for scale-out and scale-in (workers/planning/scaling.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.planning import scaling
from workers.planning.scaling import Assignment, TopicPartition


def round_robin(brokers: list[int], topics: dict[str, tuple[int, int]]) -> Assignment:
    """Kafka-like placement: partition p of a topic on consecutive brokers from a moving start."""
    out: dict[TopicPartition, list[int]] = {}
    for start, (topic, (partitions, rf)) in enumerate(sorted(topics.items())):
        for p in range(partitions):
            out[(topic, p)] = [brokers[(start + p + i) % len(brokers)] for i in range(rf)]
    return out


def applied(assignment: Assignment, placement: scaling.Placement) -> Assignment:
    return {tp: list(placement.moves.get(tp, r)) for tp, r in assignment.items()}


def spread(counts: dict[int, int]) -> int:
    return max(counts.values()) - min(counts.values())


def test_scale_out_spreads_replicas_and_leaders_with_the_fewest_moves() -> None:
    before = round_robin([100, 101, 102], {"a": (12, 3), "b": (12, 3), "c": (16, 3)})
    brokers = [100, 101, 102, 103, 104]
    placement = scaling.plan(before, brokers)
    after = applied(before, placement)
    load = scaling.holding(after, brokers)
    assert spread(load) <= 1
    assert load[103] == load[104] == 24
    # 120 replicas on 5 brokers: 24 each, so exactly 2 x 24 replicas are copied, no more.
    assert placement.replicas_moved == 48
    assert spread(scaling.leaders(after, brokers)) <= 1
    assert all(len(set(r)) == 3 for r in after.values())
    assert scaling.plan(after, brokers).empty


def test_scale_in_empties_the_removed_brokers_keeping_rf() -> None:
    before = round_robin([100, 101, 102, 103, 104], {"a": (20, 3), "__consumer_offsets": (50, 3)})
    keep = [100, 101, 102]
    placement = scaling.plan(before, keep)
    after = applied(before, placement)
    assert scaling.holding(after, [103, 104]) == {103: 0, 104: 0}
    assert all(len(set(r)) == 3 and set(r) <= set(keep) for r in after.values())
    assert spread(scaling.leaders(after, keep)) <= 1
    assert scaling.plan(after, keep).empty


def test_balanced_cluster_plans_nothing() -> None:
    before = round_robin([100, 101, 102], {"a": (3, 3), "b": (7, 2), "c": (1, 1)})
    placement = scaling.plan(before, [100, 101, 102])
    assert scaling.plan(applied(before, placement), [100, 101, 102]).empty


def test_capacity_problem_names_the_topic() -> None:
    before = round_robin([100, 101, 102], {"orders": (3, 3), "logs": (3, 1)})
    assert scaling.capacity_problem(before, [100, 101, 102]) is None
    problem = scaling.capacity_problem(before, [100])
    assert problem == "topic orders has replication factor 3; 1 broker(s) cannot hold it"
    with pytest.raises(ValueError, match="orders"):
        scaling.plan(before, [100])


def test_racks_are_kept_apart_when_possible() -> None:
    racks = {100: "a", 101: "b", 102: "c", 103: "a", 104: "b", 105: "c"}
    before = round_robin([100, 101, 102], {"t": (12, 3), "u": (6, 2)})
    brokers = [100, 101, 102, 103, 104, 105]
    after = applied(before, scaling.plan(before, brokers, racks))
    assert all(len({racks[b] for b in r}) == len(r) for r in after.values())
    assert spread(scaling.holding(after, brokers)) <= 1


def test_throttled_replicas_name_senders_and_receivers() -> None:
    before: Assignment = {("t", 0): [100, 101], ("t", 1): [101, 100], ("u", 0): [100]}
    moves = {("t", 0): (100, 103), ("t", 1): (100, 101), ("u", 0): (104,)}
    assert scaling.throttled_replicas(moves, before) == {
        "t": ("0:100,0:101", "0:103"),
        "u": ("0:100", "0:104"),
    }


@st.composite
def clusters(draw: st.DrawFn) -> tuple[Assignment, list[int], list[int]]:
    n_before = draw(st.integers(1, 7))
    before_brokers = list(range(100, 100 + n_before))
    n_after = draw(st.integers(1, 7))
    after_brokers = list(range(100, 100 + n_after))
    assignment: dict[TopicPartition, list[int]] = {}
    for t in range(draw(st.integers(1, 4))):
        rf = draw(st.integers(1, min(n_before, n_after, 3)))
        for p in range(draw(st.integers(1, 12))):
            assignment[(f"t{t}", p)] = draw(st.permutations(before_brokers))[:rf]
    return assignment, before_brokers, after_brokers


@settings(max_examples=200, deadline=None)
@given(clusters())
def test_any_plan_keeps_rf_uses_only_kept_brokers_balances_and_is_idempotent(
    case: tuple[Assignment, list[int], list[int]],
) -> None:
    before, _, brokers = case
    placement = scaling.plan(before, brokers)
    after = applied(before, placement)
    for tp, replicas in after.items():
        assert len(replicas) == len(before[tp]) == len(set(replicas))
        assert set(replicas) <= set(brokers)
    assert spread(scaling.holding(after, brokers)) <= 1
    assert scaling.plan(after, brokers).empty
    # Only partitions that change are listed, and the count of copies is what changed.
    assert all(tuple(before[tp]) != new for tp, new in placement.moves.items())
    assert placement.replicas_moved == sum(len(set(after[tp]) - set(before[tp])) for tp in before)
