"""Scale-out, safe scale-in and storage growth through the REST API, under load.

One 3-controller/3-broker cluster for the module, two RF=3 topics with min.insync.replicas=2
holding data, an idempotent acks=all producer running through every move and a consumer
reading every partition as it goes: 3 -> 5 brokers (the new brokers get replicas), 5 -> 3
(replicas only on 100-102 afterwards, pods and claims of 103/104 gone), a scale to 1 refused
up front, storage growth — and at the end zero failed sends, zero lost, zero duplicated. The
worker is SIGKILLed right after it starts the scale-out's reassignment: a new one resumes it
without starting a second.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from kafka.admin import KafkaAdminClient

from app.core.secrets import ADMIN_USERNAME
from tests.e2e.conftest import SMALL, Stack, wait_for
from workers.adapters.kafka_admin import confluent_config
from workers.adapters.kafka_python import client_config
from workers.builders import names

TOPICS = {"scale-a": 6, "scale-b": 4}
CLUSTER = "scale"


@dataclass
class Load:
    """A producer and a consumer running in threads through the whole module."""

    config: dict[str, Any]
    stop: threading.Event = field(default_factory=threading.Event)
    produced: threading.Event = field(default_factory=threading.Event)
    acked: set[bytes] = field(default_factory=set)
    failed: list[str] = field(default_factory=list)
    seen: Counter[bytes] = field(default_factory=Counter)
    consumer_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def produce(self) -> None:
        producer = Producer(
            {
                **self.config,
                "acks": "all",
                "enable.idempotence": True,
                "message.timeout.ms": 120000,
                "linger.ms": 5,
            }
        )

        def report(err: KafkaError | None, msg: Any) -> None:
            with self.lock:
                if err is not None:
                    self.failed.append(str(err))
                else:
                    self.acked.add(msg.value())

        i = 0
        pad = b"x" * 512
        while not self.stop.is_set():
            for topic in TOPICS:
                producer.produce(topic, value=f"{topic}:{i}:".encode() + pad, on_delivery=report)
            i += 1
            producer.poll(0)
            time.sleep(0.005)
        try:
            assert producer.flush(120) == 0
        finally:
            self.produced.set()

    def consume(self) -> None:
        consumer = Consumer(
            {
                **self.config,
                "group.id": "scale-checker",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        consumer.assign([TopicPartition(t, p, 0) for t, n in TOPICS.items() for p in range(n)])
        give_up: float | None = None
        try:
            while not (self.produced.is_set() and self.caught_up()):
                if self.produced.is_set():
                    # Every send is acknowledged: whatever is still unread has 60 s to show.
                    give_up = give_up or time.monotonic() + 60
                    if time.monotonic() > give_up:
                        break
                msg = consumer.poll(0.2)
                if msg is None:
                    continue
                err = msg.error()
                if err is not None:
                    if err.code() != KafkaError._PARTITION_EOF:
                        self.consumer_errors.append(str(err))
                    continue
                with self.lock:
                    self.seen[msg.value() or b""] += 1
        finally:
            consumer.close()

    def caught_up(self) -> bool:
        with self.lock:
            return self.acked <= set(self.seen)

    def start(self) -> None:
        self.threads = [
            threading.Thread(target=self.produce, daemon=True),
            threading.Thread(target=self.consume, daemon=True),
        ]
        for t in self.threads:
            t.start()

    def finish(self, timeout: float = 150) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout)
        assert not any(t.is_alive() for t in self.threads), "load threads did not finish"


@dataclass
class Scaled:
    path: str
    uid: str
    admin: AdminClient
    load: Load


def _admin_config(stack: Stack, uid: str, bootstrap: str) -> dict[str, Any]:
    secret = stack.substrate.rest().get(f"/api/v1/namespaces/kplane-{uid}/secrets/{names.SECRET}")
    return confluent_config(bootstrap, ADMIN_USERNAME, names.admin_password_in(secret))


@pytest.fixture(scope="module")
def scaled(stack: Stack, project: str) -> Iterator[Scaled]:
    op = stack.ok(
        "POST",
        f"/v1/projects/{project}/clusters",
        params={"cluster_id": CLUSTER},
        json={
            "broker_count": 3,
            "controller_count": 3,
            "broker_resources": SMALL,
            "storage_gib": 1,
        },
    )
    stack.wait_op(op, timeout=240)
    path = f"/v1/projects/{project}/clusters/{CLUSTER}"
    body = stack.ok("GET", path)
    for topic, partitions in TOPICS.items():
        stack.wait_op(
            stack.ok(
                "POST",
                f"{path}/topics",
                params={"topic_id": topic},
                json={
                    "partition_count": partitions,
                    "replication_factor": 3,
                    "configs": {"min.insync.replicas": "2"},
                },
            )
        )
    config = _admin_config(stack, body["uid"], body["bootstrap_servers"])
    load = Load(config)
    load.start()
    wait_for(lambda: len(load.acked) > 2000, 60, "the first messages acknowledged")
    try:
        yield Scaled(path, body["uid"], AdminClient(config), load)
    finally:
        load.stop.set()
        stack.call("DELETE", path)


def _wait_op_with_progress(
    stack: Stack, op: dict[str, Any], timeout: float
) -> tuple[dict[str, Any], list[str]]:
    """Poll the Operation until done, keeping every distinct progress line it showed."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while not op["done"]:
        assert time.monotonic() < deadline, f"operation not done after {timeout:g}s: {op}"
        meta = op["metadata"]
        line = f"{meta.get('progress_percent', 0):>3}% {meta.get('status_message', '')}"
        if not lines or lines[-1] != line:
            lines.append(line)
        time.sleep(0.3)
        op = stack.ok("GET", f"/v1/{op['name']}")
    assert "error" not in op, f"operation failed: {op['error']}"
    return op, lines


def _replicas(admin: AdminClient) -> dict[tuple[str, int], list[int]]:
    topics = admin.list_topics(timeout=10).topics
    return {
        (name, p): list(part.replicas)
        for name, t in topics.items()
        for p, part in t.partitions.items()
    }


def _pods(stack: Stack, uid: str) -> list[str]:
    pods = stack.substrate.rest().get(f"/api/v1/namespaces/kplane-{uid}/pods")["items"]
    return sorted(p["metadata"]["name"] for p in pods)


def _claims(stack: Stack, uid: str) -> dict[str, dict[str, Any]]:
    found = stack.substrate.rest().get(f"/api/v1/namespaces/kplane-{uid}/persistentvolumeclaims")
    return {
        c["metadata"]["name"]: c
        for c in found["items"]
        if c["metadata"]["name"].startswith("data-kafka-broker-")
    }


def test_scale_out_spreads_partitions_onto_the_new_brokers(stack: Stack, scaled: Scaled) -> None:
    started = time.monotonic()
    op = stack.ok("PATCH", scaled.path, json={"broker_count": 5})

    def moving() -> dict[str, Any] | None:
        nonlocal op
        op = stack.ok("GET", f"/v1/{op['name']}")
        return op if "moving partitions" in op["metadata"]["status_message"] else None

    # The worker dies (SIGKILL) right after it started the reassignment; a new one resumes.
    wait_for(moving, 180, "the reassignment to start", interval=0.1)
    stack.cp.kill("worker")
    stack.cp.start_worker()
    _, lines = _wait_op_with_progress(stack, op, 240)
    submitted = [
        line
        for line in stack.worker_logs().splitlines()
        if scaled.uid in line and "(3 -> 5 brokers): 0 of" in line and "to copy" in line
    ]
    assert len(submitted) <= 1, f"a second reassignment was started: {submitted}"
    print(f"scale-out 3 -> 5 in {time.monotonic() - started:.1f}s:\n  " + "\n  ".join(lines))
    body = stack.ok("GET", scaled.path)
    assert body["state"] == "ACTIVE"
    assert sorted(b["node_id"] for b in body["brokers"]) == [100, 101, 102, 103, 104]
    replicas = _replicas(scaled.admin)
    # Replication factors unchanged: the user topics' and __consumer_offsets' stay 3.
    assert {len(r) for r in replicas.values()} == {3}, replicas
    holding = Counter(b for r in replicas.values() for b in r)
    assert holding[103] > 0 and holding[104] > 0, holding
    assert max(holding.values()) - min(holding.values()) <= 1, holding
    assert any("moving partitions" in line for line in lines), lines


def test_scale_to_one_is_refused_and_changes_nothing(stack: Stack, scaled: Scaled) -> None:
    before = stack.ok("GET", scaled.path)
    r = stack.call("PATCH", scaled.path, json={"broker_count": 1})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["status"] == "FAILED_PRECONDITION"
    after = stack.ok("GET", scaled.path)
    assert after["broker_count"] == before["broker_count"] == 5
    assert after["state"] == "ACTIVE"


def test_scale_in_drains_then_removes_brokers(stack: Stack, scaled: Scaled) -> None:
    started = time.monotonic()
    _, lines = _wait_op_with_progress(
        stack, stack.ok("PATCH", scaled.path, json={"broker_count": 3}), 240
    )
    print(f"scale-in 5 -> 3 in {time.monotonic() - started:.1f}s:\n  " + "\n  ".join(lines))
    body = stack.ok("GET", scaled.path)
    assert body["state"] == "ACTIVE"
    assert sorted(b["node_id"] for b in body["brokers"]) == [100, 101, 102]
    replicas = _replicas(scaled.admin)
    assert {b for r in replicas.values() for b in r} <= {100, 101, 102}
    assert {len(r) for r in replicas.values()} == {3}, replicas
    pods = _pods(stack, scaled.uid)
    assert "kafka-broker-3" not in pods and "kafka-broker-4" not in pods, pods
    assert sorted(_claims(stack, scaled.uid)) == [f"data-kafka-broker-{i}" for i in range(3)]
    # Unregistered from the KRaft metadata too (DescribeCluster lists fenced brokers as well).
    config = scaled.load.config
    admin = KafkaAdminClient(
        **client_config(
            config["bootstrap.servers"],
            config["sasl.username"],
            config["sasl.password"],
            30.0,
            "e2e",
        )
    )
    try:
        registered = {b["broker_id"] for b in admin.describe_cluster()["brokers"]}
    finally:
        admin.close()
    assert registered == {100, 101, 102}


def test_storage_grows(stack: Stack, scaled: Scaled) -> None:
    _wait_op_with_progress(stack, stack.ok("PATCH", scaled.path, json={"storage_gib": 2}), 60)

    def grown() -> bool:
        claims = _claims(stack, scaled.uid).values()
        return len(claims) == 3 and all(
            c["spec"]["resources"]["requests"]["storage"] == "2Gi"
            and c.get("status", {}).get("capacity", {}).get("storage") == "2Gi"
            for c in claims
        )

    wait_for(grown, 30, "every broker claim requested and sized 2Gi")


def test_nothing_lost_nor_duplicated_under_the_moves(scaled: Scaled) -> None:
    load = scaled.load
    load.finish()
    assert not load.failed, f"{len(load.failed)} sends failed, first: {load.failed[0]}"
    lost = load.acked - set(load.seen)
    assert not lost, f"{len(lost)} acknowledged messages never consumed"
    duplicated = [v for v, n in load.seen.items() if n > 1]
    assert not duplicated, f"{len(duplicated)} messages consumed more than once"
    print(f"{len(load.acked)} messages acknowledged and consumed exactly once")
