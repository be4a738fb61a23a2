"""The pure parts of consumer groups (app/consumer_groups/views.py): the group body's lag
figures, which partitions a reset touches, the before/after table and its clamping; and the
API's derivation of the control plane's broker credential, held equal to the workers'."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.consumer_groups.brokers import Listing
from app.consumer_groups.service import GroupFilter, Page, Pager
from app.consumer_groups.views import (
    Bounds,
    Lag,
    Member,
    ObservedGroup,
    Partition,
    ResetRefused,
    ResetSpec,
    TopicSelection,
    body,
    lag_of,
    offsets_partition,
    plan_reset,
    select_partitions,
)
from app.core.errors import ApiError
from app.core.pagination import ListParams

A0, A1, B0 = Partition("a", 0), Partition("a", 1), Partition("b", 0)
NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)


def test_body_lag_is_end_minus_committed_and_unknown_where_nothing_is_committed() -> None:
    group = ObservedGroup(
        group_id="g",
        state="STABLE",
        protocol="range",
        simple=False,
        coordinator=101,
        members=(Member("m-1", "client", "/10.0.0.5", None, (A0, A1, B0)),),
        committed={A0: 7, A1: 20},
        log_end={A0: 10, A1: 20, B0: 4},
        observe_time=NOW,
    )
    out = body("p", "c", group)
    assert out["name"] == "projects/p/clusters/c/consumer_groups/g"
    assert [(o["topic"], o["partition"], o["lag"]) for o in out["offsets"]] == [
        ("a", 0, 3),
        ("a", 1, 0),
        ("b", 0, None),
    ]
    assert (out["total_lag"], out["max_lag"]) == (3, 3)
    assert out["members"][0]["assigned_partitions"][2] == {"topic": "b", "partition": 0}
    assert out["observe_time"] == "2026-12-02T07:00:00Z"


BOUNDS = {A0: Bounds(5, 100), A1: Bounds(0, 50), B0: Bounds(0, 0)}


@pytest.mark.parametrize(
    ("spec", "after"),
    [
        (ResetSpec(to_earliest=True), [5, 0]),
        (ResetSpec(to_latest=True), [100, 50]),
        (ResetSpec(to_offset=60), [60, 50]),  # clamped to the log end
        (ResetSpec(to_offset=1), [5, 1]),  # clamped to the log start
        (ResetSpec(shift_by=-20), [5, 10]),  # a shift stops at the log start
        (ResetSpec(shift_by=5), [25, 35]),
    ],
)
def test_every_target_lands_inside_the_log(spec: ResetSpec, after: list[int]) -> None:
    rows = plan_reset(spec, [A0, A1], {A0: 20, A1: 30}, BOUNDS)
    assert [r.after for r in rows] == after
    assert [r.before for r in rows] == [20, 30]


def test_to_timestamp_takes_the_brokers_offset_or_the_log_end_when_none_is_that_late() -> None:
    spec = ResetSpec(to_timestamp=NOW)
    rows = plan_reset(spec, [A0, A1], {A0: 20, A1: 30}, BOUNDS, {A0: 42, A1: -1})
    assert [r.after for r in rows] == [42, 50]


def test_shift_needs_a_committed_offset() -> None:
    with pytest.raises(ResetRefused) as refused:
        plan_reset(ResetSpec(shift_by=1), [A0], {A0: None}, BOUNDS)
    assert refused.value.reason == "NO_COMMITTED_OFFSET"


def test_partitions_default_to_the_committed_ones_and_named_topics_must_exist() -> None:
    committed = {A1: 3, A0: 1, B0: None}
    assert select_partitions(ResetSpec(to_earliest=True), committed, {}) == [A0, A1]
    with pytest.raises(ResetRefused, match="no committed offsets"):
        select_partitions(ResetSpec(to_earliest=True), {}, {})
    spec = ResetSpec(to_earliest=True, topics=(TopicSelection("a"), TopicSelection("b", (0,))))
    assert select_partitions(spec, {}, {"a": 2, "b": 3}) == [A0, A1, B0]
    with pytest.raises(ResetRefused, match="does not exist"):
        select_partitions(spec, {}, {"a": 2, "b": None})
    spec = ResetSpec(to_earliest=True, topics=(TopicSelection("a", (2,)),))
    with pytest.raises(ResetRefused, match="no partition 2"):
        select_partitions(spec, {}, {"a": 2})


def test_a_spec_survives_its_json_round_trip() -> None:
    for spec in (
        ResetSpec(to_timestamp=NOW, topics=(TopicSelection("a", (0, 1)),)),
        ResetSpec(shift_by=-3),
        ResetSpec(to_latest=True),
    ):
        assert ResetSpec.from_json(spec.to_json()) == spec


def test_filter_by_name_prefix_and_state() -> None:
    groups = [Listing("orders-1", "EMPTY"), Listing("orders-2", "STABLE"), Listing("x", "EMPTY")]
    kept = GroupFilter.parse('name = "orders-*" AND state = empty')
    assert [g.group_id for g in groups if kept.keeps(g)] == ["orders-1"]
    assert [g.group_id for g in groups if GroupFilter.parse("state != EMPTY").keeps(g)] == [
        "orders-2"
    ]
    for bad in ("state = SLEEPY", "labels.a = b", "name ~ x"):
        with pytest.raises(ApiError):
            GroupFilter.parse(bad)


def test_lag_of_counts_only_partitions_with_both_offsets_known() -> None:
    lag = lag_of({A0: 2, A1: None, B0: 5}, {A0: 10, A1: 10, B0: 4})
    assert (lag.total, lag.max) == (8, 8)  # B0 committed past a moved end: lag 0, not -1
    assert lag_of({}, {}) == Lag(0, 0)


def test_a_page_names_the_next_pages_groups_and_its_token_resumes_after_its_last() -> None:
    groups = [Listing(f"g{i}", "EMPTY") for i in range(5)]
    every = groups
    params = ListParams(page_size=2, page_token="", filter="", order_by="")
    first = Pager.parse(params, "someone", "parent").page(groups)
    assert first.group_ids == ["g0", "g1"]
    assert [g.group_id for g in first.next_groups] == ["g2", "g3"]
    params = ListParams(2, first.next_page_token, "", "")
    second = Pager.parse(params, "someone", "parent").page(groups)
    assert second.group_ids == [g.group_id for g in first.next_groups]
    with pytest.raises(ApiError):  # another caller's token
        Pager.parse(params, "someone-else", "parent")
    last = Pager.parse(ListParams(2, second.next_page_token, "", ""), "someone", "parent")
    assert last.page(groups) == Page(["g4"], "", [], every)
    # Every page names the whole filtered listing: the read of the wave they share.
    assert first.listed == second.listed == every
    kept = Pager.parse(ListParams(2, "", 'name != "g1"', ""), "someone", "parent").page(groups)
    assert [g.group_id for g in kept.listed] == ["g0", "g2", "g3", "g4"]


def test_a_groups_partition_of_the_offsets_topic_is_kafkas() -> None:
    # Java: "hello".hashCode() == 99162322; "polygenelubricants".hashCode() is
    # Integer.MIN_VALUE, which Kafka's Utils.abs maps to 0; "Aa" and "BB" collide (2112).
    assert offsets_partition("hello", 50) == 99162322 % 50
    assert offsets_partition("polygenelubricants", 50) == 0
    assert offsets_partition("Aa", 50) == offsets_partition("BB", 50) == 2112 % 50
    assert offsets_partition("", 7) == 0
    # Negative hashes (values printed by a JVM): |.| is taken, as Kafka does.
    assert offsets_partition("zzzzzzzz", 50) == 1910022912 % 50
    assert offsets_partition("bench-g-00042", 50) == 529324757 % 50
    # Beyond the BMP, Java hashes UTF-16 code units: U+1F600 hashes to 1772899.
    assert offsets_partition("\U0001f600", 1000) == 1772899 % 1000
