"""The scaling step's decisions around faults the real parts cannot be made to show on cue: a
worker that died between submitting a reassignment and recording it, and a broker whose
metadata trails the controller. Fakes stand in at the adapter boundary only (Kubernetes, the
Admin clients); the step and the planner are the real ones."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from workers.adapters.reassign import InFlight, Topology
from workers.config import WorkerSettings
from workers.outcome import Failed
from workers.reconcilers import scaling
from workers.reconcilers.cluster_state import ClusterData, Pass
from workers.reconcilers.context import Context
from workers.reconcilers.runbook import Wait

UID = uuid.UUID(int=5)


class FakeKube:
    def __init__(self, sts_replicas: int) -> None:
        self.sts = {"spec": {"replicas": sts_replicas}}
        self.applied: list[Any] = []

    def get(self, kind: str, name: str, namespace: str | None = None) -> Any:
        return self.sts if kind == "StatefulSet" else None

    def list_objects(self, kind: str, namespace: str, selector: str = "") -> list[Any]:
        return []

    def apply(self, manifests: Any) -> list[str]:
        self.applied += manifests
        return []


class FakeMover:
    def __init__(self, replicas: dict[tuple[str, int], tuple[int, ...]], flying: Any = None):
        self.replicas = replicas
        self.flying: dict[tuple[str, int], InFlight] = flying or {}
        self.submitted: list[Any] = []

    def in_flight(self) -> dict[tuple[str, int], InFlight]:
        return self.flying

    def topology(self) -> Topology:
        return Topology(dict(self.replicas), frozenset())

    def reassign(self, moves: Any) -> dict[tuple[str, int], str]:
        self.submitted.append(dict(moves))
        return {}


class FakeAdmin:
    def alter_broker_configs(self, changes: Any) -> None: ...

    def alter_topic_configs(self, changes: Any) -> dict[str, str]:
        return {}


class FakeSession:
    def scalars(self, _query: Any) -> list[str]:
        return []


def run(
    kube: FakeKube, mover: FakeMover | None, broker_count: int, data: dict[str, Any]
) -> tuple[Any, list[str]]:
    calls: list[str] = []

    def reassigner(bootstrap: str, password: str) -> Any:
        calls.append("reassigner")
        assert mover is not None, "the steady state must not reach for Kafka"
        return mover

    ctx = Context(
        session=FakeSession(),  # type: ignore[arg-type]
        kube=kube,  # type: ignore[arg-type]
        admin=lambda b, p: FakeAdmin(),  # type: ignore[arg-type,return-value]
        settings=WorkerSettings(),
        reconcile_id="test",
        enqueue=lambda task, uid: None,
        secret_key=b"k",
        reassigner=reassigner,
    )
    c: Any = SimpleNamespace(uid=UID, broker_count=broker_count, generation=1)
    p = Pass(ctx, c, None, ClusterData.load(data), bootstrap="b:9092")
    outcome = scaling.placement(p)
    data.clear()
    data.update(p.data.dump())
    return outcome, calls


def rr(brokers: list[int], partitions: int) -> dict[tuple[str, int], tuple[int, ...]]:
    return {
        ("t", p): tuple(brokers[(p + i) % len(brokers)] for i in range(3))
        for p in range(partitions)
    }


def test_steady_state_makes_no_kafka_call() -> None:
    outcome, calls = run(FakeKube(3), None, 3, {"placement_brokers": 3})
    assert outcome is None and calls == []


def test_a_scale_out_submits_one_reassignment_and_records_its_targets() -> None:
    mover = FakeMover(rr([100, 101, 102], 10))
    data: dict[str, Any] = {"placement_brokers": 3}
    outcome, _ = run(FakeKube(5), mover, 5, data)
    assert isinstance(outcome, Wait) and "moving partitions (3 -> 5" in outcome.message
    assert len(mover.submitted) == 1
    assert set(data["scaling"]["target"]) == {f"{t}:{p}" for t, p in mover.submitted[0]}


def test_after_a_crash_mid_move_the_pass_waits_and_submits_nothing() -> None:
    # Nothing recorded (the worker died after submitting); Kafka reports the moves in flight.
    flying = {("t", 0): InFlight((100, 103, 104, 101, 102), (103, 104), (101, 102))}
    mover = FakeMover(rr([100, 101, 102], 4), flying)
    data: dict[str, Any] = {"placement_brokers": 3}
    outcome, _ = run(FakeKube(5), mover, 5, data)
    assert isinstance(outcome, Wait) and "1 in flight" in outcome.message
    assert mover.submitted == []
    assert data["scaling"]["target"] == {"t:0": [100, 103, 104]}


def test_trailing_metadata_is_never_planned_from() -> None:
    # The controller says done, a broker still shows old + new replicas (5 of them).
    replicas = {("t", 0): (100, 103, 104, 101, 102), ("t", 1): (101, 102, 103)}
    mover = FakeMover(replicas)
    data: dict[str, Any] = {
        "placement_brokers": 3,
        "scaling": {"target": {"t:0": [100, 103, 104]}, "partitions": 1},
    }
    outcome, _ = run(FakeKube(5), mover, 5, data)
    assert isinstance(outcome, Wait) and "metadata" in outcome.message
    assert mover.submitted == []


def test_a_scale_in_the_brokers_cannot_hold_fails_with_the_reason() -> None:
    mover = FakeMover(rr([100, 101, 102], 3))
    outcome, _ = run(FakeKube(3), mover, 2, {"placement_brokers": 3})
    assert isinstance(outcome, Failed)
    assert outcome.reason == "SCALE_IN_BELOW_REPLICATION_FACTOR"
    assert "replication factor 3" in outcome.message
    assert mover.submitted == []
