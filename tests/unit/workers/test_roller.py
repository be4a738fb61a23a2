"""The roll planner and the maintenance-window check, table-driven, no I/O."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.core.kafka_config import BROKER_CONFIGS
from workers.builders import cluster as build
from workers.builders import names
from workers.planning.roller import (
    BLOCKED,
    DONE,
    PENDING,
    RESTARTING,
    Finalize,
    PartitionFacts,
    PodFacts,
    QuorumFacts,
    RollInput,
    broker_blocker,
    plan,
    window_state,
)

QUORUM = QuorumFacts(leader_id=1, lag={0: 0, 1: 0, 2: 0})


def pods(stale: set[str] = frozenset(), **overrides: Mapping[str, object]) -> list[PodFacts]:  # type: ignore[assignment]
    out = []
    for pool, prefix, offset in (
        ("controller", "kafka-controller", 0),
        ("broker", "kafka-broker", 100),
    ):
        for i in range(3):
            name = f"{prefix}-{i}"
            fields: dict[str, object] = {
                "name": name,
                "pool": pool,
                "node_id": offset + i,
                "ready": True,
                "current": name not in stale,
            }
            fields.update(overrides.get(name, {}))
            out.append(PodFacts(**fields))  # type: ignore[arg-type]
    return out


def healthy(min_isr: int = 2) -> list[PartitionFacts]:
    return [PartitionFacts("t", i, (100, 101, 102), (100, 101, 102), min_isr) for i in range(3)]


ALL = {
    "kafka-controller-0",
    "kafka-controller-1",
    "kafka-controller-2",
    "kafka-broker-0",
    "kafka-broker-1",
    "kafka-broker-2",
}


def test_nothing_stale_is_done() -> None:
    p = plan(RollInput(pods(), QUORUM, healthy()))
    assert p.action.kind == "done"
    assert all(s.state == DONE for s in p.steps)
    assert p.percent == 100


def test_controllers_first_active_last_then_brokers_in_order() -> None:
    stale = set(ALL)
    order = []
    for _ in range(6):
        p = plan(RollInput(pods(stale), QUORUM, healthy()))
        assert p.action.kind == "delete"
        order.append(p.action.pod)
        stale.discard(p.action.pod)
    assert order == [
        "kafka-controller-0",
        "kafka-controller-2",
        "kafka-controller-1",  # the active controller (leader 1) last
        "kafka-broker-0",
        "kafka-broker-1",
        "kafka-broker-2",
    ]
    assert plan(RollInput(pods(stale), QUORUM, healthy())).action.kind == "done"


def test_steps_keep_a_stable_order_whoever_leads() -> None:
    names_ = [s.name for s in plan(RollInput(pods(set(ALL)), QUORUM, healthy())).steps]
    assert names_ == [s.name for s in plan(RollInput(pods(set(ALL)), None, healthy())).steps]
    assert names_[0] == "controller kafka-controller-0"
    assert names_[-1] == "broker kafka-broker-2"


def test_steps_show_each_pod_state() -> None:
    p = plan(RollInput(pods({"kafka-broker-1", "kafka-broker-2"}), QUORUM, healthy()))
    states = {s.name: s.state for s in p.steps}
    assert states["broker kafka-broker-0"] == DONE
    assert states["broker kafka-broker-1"] == RESTARTING
    assert states["broker kafka-broker-2"] == PENDING
    assert p.done == 4 and p.total == 6


def test_waits_for_a_restarted_pod_to_be_ready() -> None:
    given = pods({"kafka-broker-2"}, **{"kafka-broker-1": {"ready": False}})
    p = plan(RollInput(given, QUORUM, healthy()))
    assert p.action.kind == "wait" and p.action.pod == "kafka-broker-1"


def test_waits_for_a_deleted_pod_even_while_ready() -> None:
    given = pods({"kafka-broker-1"}, **{"kafka-broker-1": {"deleting": True}})
    p = plan(RollInput(given, QUORUM, healthy()))
    assert p.action.kind == "wait"


def test_waits_for_a_restarted_broker_to_rejoin_every_isr() -> None:
    parts = [PartitionFacts("t", 0, (100, 101, 102), (100, 102), 2)]
    p = plan(RollInput(pods({"kafka-broker-2"}), QUORUM, parts))
    assert p.action.kind == "wait" and p.action.pod == "kafka-broker-1"
    assert "rejoin the ISR of 1 partition" in p.action.reason


def test_blocked_while_a_partition_is_under_replicated() -> None:
    # broker 102 (not rolled yet) fell out of an ISR: nobody restarts until it is back.
    parts = [PartitionFacts("t", 0, (100, 101, 102), (100, 101), 2)]
    p = plan(RollInput(pods({"kafka-broker-2"}), QUORUM, parts))
    assert p.action.kind == "blocked"
    assert "under-replicated" in p.action.reason
    assert p.status_message.startswith("blocked: partition t-0 is under-replicated")
    assert {s.name: s.state for s in p.steps}["broker kafka-broker-2"] == BLOCKED


def test_never_below_min_isr() -> None:
    parts = [PartitionFacts("t", 0, (100, 101), (100, 101), 2)]
    # RF 2 with min ISR 2 is not above min ISR: ignored (it could never roll).
    assert plan(RollInput(pods({"kafka-broker-0"}), QUORUM, parts)).action.kind == "delete"
    parts = [PartitionFacts("t", 0, (100, 101, 102), (100, 101, 102), 3)]
    assert plan(RollInput(pods({"kafka-broker-0"}), QUORUM, parts)).action.kind == "delete"
    parts = [PartitionFacts("t", 0, (100, 101, 102), (100, 101, 102), 2)]
    assert plan(RollInput(pods({"kafka-broker-0"}), QUORUM, parts)).action.kind == "delete"


def test_min_isr_is_named_before_under_replication() -> None:
    parts = [PartitionFacts("t", 0, (100, 101, 102), (100, 101), 2)]
    assert broker_blocker(100, parts).startswith("restarting broker 100 would take t-0 below")
    assert broker_blocker(102, parts).startswith("partition t-0 is under-replicated")
    # RF 4, min ISR 4: no broker restart can keep it writable, so it does not block.
    parts = [PartitionFacts("t", 0, (100, 101, 102, 103), (100, 101, 102, 103), 4)]
    assert broker_blocker(100, parts) == ""


def test_unknown_partitions_block_brokers_but_not_controllers() -> None:
    p = plan(RollInput(pods({"kafka-broker-0"}), QUORUM, None))
    assert p.action.kind == "blocked" and "partitions" in p.action.reason
    p = plan(RollInput(pods({"kafka-controller-0"}), QUORUM, None))
    assert p.action.kind == "delete"


def test_active_controller_waits_for_a_caught_up_majority() -> None:
    lagging = QuorumFacts(leader_id=1, lag={0: 50_000, 1: 0, 2: 50_000})
    p = plan(RollInput(pods({"kafka-controller-1"}), lagging, healthy()))
    assert p.action.kind == "blocked" and "majority" in p.action.reason
    one_behind = QuorumFacts(leader_id=1, lag={0: 0, 1: 0, 2: 50_000})
    p = plan(RollInput(pods({"kafka-controller-1"}), one_behind, healthy()))
    assert p.action.kind == "blocked"
    assert plan(RollInput(pods({"kafka-controller-1"}), QUORUM, healthy())).action.kind == "delete"


def test_a_sole_controller_restarts_with_nothing_to_wait_for() -> None:
    # controller_count 1: no other voter can be caught up; waiting for one would block forever.
    single = [
        PodFacts("kafka-controller-0", "controller", 0, ready=True, current=False),
        PodFacts("kafka-broker-0", "broker", 100, ready=True, current=True),
    ]
    p = plan(RollInput(single, QuorumFacts(leader_id=0, lag={0: 0}), healthy()))
    assert p.action.kind == "delete" and p.action.pod == "kafka-controller-0"


def test_follower_waits_when_the_rest_would_lose_a_majority() -> None:
    quorum = QuorumFacts(leader_id=1, lag={0: 0, 1: 0, 2: 50_000})
    p = plan(RollInput(pods({"kafka-controller-0"}), quorum, healthy()))
    assert p.action.kind == "blocked" and "[2]" in p.action.reason
    p = plan(RollInput(pods({"kafka-controller-0"}), None, healthy()))
    assert p.action.kind == "blocked" and "quorum" in p.action.reason


def test_a_pod_that_cannot_start_blocks_the_roll() -> None:
    given = pods({"kafka-broker-2"}, **{"kafka-broker-1": {"cannot_start": "ImageNotRunnable"}})
    p = plan(RollInput(given, QUORUM, healthy()))
    assert p.action.kind == "blocked" and p.action.pod == "kafka-broker-1"
    assert {s.name: s.state for s in p.steps}["broker kafka-broker-1"] == BLOCKED


def test_cancel_finishes_the_restart_in_progress_then_stops() -> None:
    given = pods({"kafka-broker-2"}, **{"kafka-broker-1": {"ready": False}})
    assert plan(RollInput(given, QUORUM, healthy(), cancel=True)).action.kind == "wait"
    p = plan(RollInput(pods({"kafka-broker-2"}), QUORUM, healthy(), cancel=True))
    assert p.action.kind == "cancelled"
    assert plan(RollInput(pods(), QUORUM, healthy(), cancel=True)).action.kind == "done"


def test_a_kplane_patch_waits_for_the_window_a_user_change_does_not() -> None:
    nxt = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    patch_only = pods(set(ALL), **{n: {"user_change": False} for n in ALL})
    p = plan(RollInput(patch_only, QUORUM, healthy(), window_open=False, window_next=nxt))
    assert p.action.kind == "window"
    assert p.status_message == "waiting for the maintenance window (next: 2026-11-29T02:00:00Z)"
    p = plan(RollInput(patch_only, QUORUM, healthy(), window_open=True))
    assert p.action.kind == "delete"
    p = plan(RollInput(pods(set(ALL)), QUORUM, healthy(), window_open=False, window_next=nxt))
    assert p.action.kind == "delete"


def test_finalize_after_every_pod_runs_the_new_version() -> None:
    fin = Finalize(finalized=27, target=29, target_name="4.4-IV2")
    p = plan(RollInput(pods({"kafka-broker-2"}), QUORUM, healthy(), finalize=fin))
    assert p.action.kind == "delete"
    assert p.steps[-1].name == "finalize metadata.version 4.4-IV2"
    assert p.steps[-1].state == PENDING
    p = plan(RollInput(pods(), QUORUM, healthy(), finalize=fin))
    assert p.action.kind == "finalize" and p.steps[-1].state == RESTARTING
    done = Finalize(finalized=29, target=29, target_name="4.4-IV2")
    p = plan(RollInput(pods(), QUORUM, healthy(), finalize=done))
    assert p.action.kind == "done" and p.steps[-1].state == DONE and p.percent == 100


def at(day: int, hour: int, minute: int = 0) -> datetime:
    # 2026-11-23 is a Monday.
    return datetime(2026, 11, 23, hour, minute, tzinfo=UTC) + timedelta(days=day)


@pytest.mark.parametrize(
    ("window", "now", "is_open", "next_start"),
    [
        (None, at(0, 12), True, None),
        # Wednesday 02:00 for 3 hours
        (
            {"day_of_week": "WEDNESDAY", "start_time": "02:00", "duration_hours": 3},
            at(2, 1, 59),
            False,
            at(2, 2),
        ),
        (
            {"day_of_week": "WEDNESDAY", "start_time": "02:00", "duration_hours": 3},
            at(2, 2),
            True,
            at(9, 2),
        ),
        (
            {"day_of_week": "WEDNESDAY", "start_time": "02:00", "duration_hours": 3},
            at(2, 4, 59),
            True,
            at(9, 2),
        ),
        (
            {"day_of_week": "WEDNESDAY", "start_time": "02:00", "duration_hours": 3},
            at(2, 5),
            False,
            at(9, 2),
        ),
        (
            {"day_of_week": "WEDNESDAY", "start_time": "02:00", "duration_hours": 3},
            at(0, 9),
            False,
            at(2, 2),
        ),
        # Tuesday 22:30 for 4 hours crosses midnight into Wednesday
        (
            {"day_of_week": "TUESDAY", "start_time": "22:30", "duration_hours": 4},
            at(2, 1),
            True,
            at(8, 22, 30),
        ),
        (
            {"day_of_week": "TUESDAY", "start_time": "22:30", "duration_hours": 4},
            at(2, 2, 30),
            False,
            at(8, 22, 30),
        ),
        # Sunday 23:00 for 2 hours crosses the end of the week into Monday
        (
            {"day_of_week": "SUNDAY", "start_time": "23:00", "duration_hours": 2},
            at(0, 0, 30),
            True,
            at(6, 23),
        ),
        (
            {"day_of_week": "SUNDAY", "start_time": "23:00", "duration_hours": 2},
            at(6, 23, 30),
            True,
            at(13, 23),
        ),
        (
            {"day_of_week": "SUNDAY", "start_time": "23:00", "duration_hours": 2},
            at(0, 1),
            False,
            at(6, 23),
        ),
        # a whole day
        (
            {"day_of_week": "MONDAY", "start_time": "00:00", "duration_hours": 24},
            at(0, 23, 59),
            True,
            at(7, 0),
        ),
    ],
)
def test_window_state(
    window: dict[str, object] | None, now: datetime, is_open: bool, next_start: datetime | None
) -> None:
    assert window_state(window, now) == (is_open, next_start)


def _annotations(
    config: dict[str, str], version: str = "4.3.1", build_tag: str = ""
) -> dict[str, dict[str, str]]:
    spec = build.ClusterSpec(
        uid=uuid.UUID(int=7),
        project_id="p",
        cluster_id="c",
        kafka_version=version,
        broker_count=3,
        controller_count=3,
        cpu=1.0,
        memory_gib=2.0,
        storage_gib=1,
        config=config,
    )
    opts = build.BuildOptions(
        admin_password="pw-0123456789",
        image_build=build_tag,
        dynamic_settings=frozenset(k for k, v in BROKER_CONFIGS.items() if v.dynamic),
    )
    out = {}
    for m in build.manifests(spec, opts):
        if m["kind"] == "StatefulSet":
            template = m["spec"]["template"]
            out[m["metadata"]["name"]] = {
                **template["metadata"]["annotations"],
                "image": template["spec"]["containers"][0]["image"],
            }
            assert names.ANNOTATION_USER_HASH in template["metadata"]["annotations"]
    return out


def test_templates_change_only_for_what_needs_a_restart() -> None:
    base = _annotations({})
    # A dynamic broker setting changes no template: it is altered on the running brokers.
    assert _annotations({"log.retention.ms": "1000"}) == base
    # A static broker setting restarts the brokers, not the controllers.
    static = _annotations({"offsets.retention.minutes": "10081"})
    assert static["kafka-broker"] != base["kafka-broker"]
    assert static["kafka-controller"] == base["kafka-controller"]
    # One the controllers read restarts them too.
    both = _annotations({"num.partitions": "6"})
    assert both["kafka-controller"] != base["kafka-controller"]
    # A new image build changes the image, not the user hash (the window gates it).
    rebuilt = _annotations({}, build_tag="b2")
    assert rebuilt["kafka-broker"]["image"] == "kplane/broker:4.3.1-b2"
    user = "kplane.io/user-change-hash"
    assert rebuilt["kafka-broker"][user] == base["kafka-broker"][user]
    assert _annotations({}, version="4.4.0")["kafka-broker"][user] != base["kafka-broker"][user]


def _sts(revision: str, user_hash: str, replicas: int = 3) -> dict[str, Any]:
    return {
        "metadata": {"name": "kafka-broker", "generation": 2},
        "spec": {
            "replicas": replicas,
            "template": {"metadata": {"annotations": {names.ANNOTATION_USER_HASH: user_hash}}},
        },
        "status": {"observedGeneration": 2, "updateRevision": revision},
    }


def _pod(name: str, revision: str, user_hash: str | None, **status: object) -> dict[str, Any]:
    annotations = {names.ANNOTATION_USER_HASH: user_hash} if user_hash is not None else {}
    return {
        "metadata": {
            "name": name,
            "labels": {names.LABEL_REVISION: revision},
            "annotations": annotations,
        },
        "status": {"conditions": [{"type": "Ready", "status": "True"}], **status},
    }


def test_pod_facts_from_revisions_and_hashes() -> None:
    from workers.reconcilers.roller import pod_facts

    waiting = {"containerStatuses": [{"state": {"waiting": {"reason": "ImageNotRunnable"}}}]}
    facts = pod_facts(
        _sts("rev-2", "u2"),
        [
            _pod("kafka-broker-0", "rev-2", "u2"),  # current
            _pod("kafka-broker-1", "rev-1", "u1"),  # a user change
            # kafka-broker-2 missing: deleted, not recreated yet
        ],
        "broker",
    )
    by_name = {f.name: f for f in facts}
    assert by_name["kafka-broker-0"].current and by_name["kafka-broker-0"].node_id == 100
    assert not by_name["kafka-broker-1"].current and by_name["kafka-broker-1"].user_change
    assert by_name["kafka-broker-2"].current and not by_name["kafka-broker-2"].ready
    facts = pod_facts(
        _sts("rev-2", "u1"),
        [
            _pod("kafka-broker-0", "rev-1", "u1"),  # only an image build differs
            _pod("kafka-broker-1", "rev-1", None),  # from before the hash existed
            _pod("kafka-broker-2", "rev-2", "u1", **waiting),
        ],
        "broker",
    )
    assert [f.user_change for f in facts] == [False, False, False]
    assert facts[2].cannot_start.startswith("ImageNotRunnable")
