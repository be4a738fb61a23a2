"""Rolling restarts and upgrades on a cluster of their own (3 controllers + 3 brokers, created
through the API at the older Kafka version), under continuous acks=all idempotent writes to an
RF=3 topic with min.insync.replicas=2, every message read back exactly once afterwards.

The scenarios share the cluster and run in order: a config change that needs restarts, a roll
blocked by an under-replicated partition, a roll cancelled between two pods, then the upgrade
and its metadata.version finalize.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient
from kafka.admin import KafkaAdminClient

from app.core.secrets import ADMIN_USERNAME
from tests.e2e.conftest import SMALL, ClientConfig, Stack, wait_for
from tests.integration.broker.clients import create_topic, read_all
from workers.adapters.kafka_admin import confluent_config
from workers.adapters.kafka_python import client_config
from workers.builders import names

OLD, NEW = "4.3.1", "4.4.0"
TOPIC = "rolled"
PARTITIONS = 3
PODS = [f"{names.CONTROLLERS}-{i}" for i in range(3)] + [f"{names.BROKERS}-{i}" for i in range(3)]


@dataclass
class RollCluster:
    path: str
    namespace: str
    config: ClientConfig
    password: str
    total: int = 0

    def refresh(self, stack: Stack) -> None:
        """Pods may come back at other addresses: bootstrap from the current ones."""
        self.config["bootstrap.servers"] = stack.ok("GET", self.path)["bootstrap_servers"]


@pytest.fixture(scope="module")
def roll_cluster(stack: Stack, project: str) -> Iterator[RollCluster]:
    op = stack.ok(
        "POST",
        f"/v1/projects/{project}/clusters",
        params={"cluster_id": "roll"},
        json={
            "kafka_version": OLD,
            "broker_count": 3,
            "controller_count": 3,
            "broker_resources": SMALL,
            "storage_gib": 1,
        },
    )
    stack.wait_op(op, timeout=300)
    path = f"/v1/projects/{project}/clusters/roll"
    body = stack.ok("GET", path)
    namespace = names.namespace_of(body["uid"])
    secret = stack.substrate.rest().get(f"/api/v1/namespaces/{namespace}/secrets/{names.SECRET}")
    password = names.admin_password_in(secret)
    config: ClientConfig = confluent_config(body["bootstrap_servers"], ADMIN_USERNAME, password)
    create_topic(AdminClient(config), TOPIC, PARTITIONS, 3, config={"min.insync.replicas": "2"})
    yield RollCluster(path, namespace, config, password)
    stack.ok("DELETE", path)


class Load:
    """acks=all idempotent writes in a thread until stopped; every delivery report kept."""

    def __init__(self, config: ClientConfig, prefix: str) -> None:
        self.producer = Producer(
            {
                **config,
                "acks": "all",
                "enable.idempotence": True,
                "message.timeout.ms": 180_000,
                "linger.ms": 5,
            }
        )
        self.prefix = prefix
        self.sent: list[bytes] = []
        self.failed: list[tuple[bytes, KafkaError]] = []
        self.acked = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _report(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.failed.append((msg.value() or b"", err))
        else:
            self.acked += 1

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            value = f"{self.prefix}-{i}".encode()
            self.producer.produce(TOPIC, value=value, key=value, on_delivery=self._report)
            self.sent.append(value)
            i += 1
            # Pacing of the load generator (about 100 messages/s), not a wait for a condition.
            self.producer.poll(0.01)

    def stop(self) -> list[bytes]:
        self._stop.set()
        self._thread.join(10)
        left = self.producer.flush(200)
        assert left == 0, f"{left} messages undelivered"
        assert not self.failed, f"{len(self.failed)} failed sends, first: {self.failed[0]}"
        assert self.acked == len(self.sent)
        return self.sent


@dataclass
class PodWatch:
    """Polls the cluster's pods: every uid each pod had, and the most pods down at once."""

    stack: Stack
    namespace: str
    uids: dict[str, list[str]] = field(default_factory=dict)
    most_down: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        pods = self.stack.substrate.rest().get(f"/api/v1/namespaces/{self.namespace}/pods")
        seen = {p["metadata"]["name"]: p for p in pods.get("items", [])}
        down = 0
        for name in PODS:
            pod = seen.get(name)
            if pod is None:
                down += 1
                continue
            uids = self.uids.setdefault(name, [])
            if not uids or uids[-1] != pod["metadata"]["uid"]:
                uids.append(pod["metadata"]["uid"])
            ready = any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in pod.get("status", {}).get("conditions", [])
            )
            if pod["metadata"].get("deletionTimestamp") or not ready:
                down += 1
        self.most_down = max(self.most_down, down)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            try:
                self._poll()
            except Exception:  # a poll during an apiserver hiccup: the next one counts
                continue

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join(5)
        self._poll()
        return {name: len(uids) - 1 for name, uids in self.uids.items()}


class OperationWatch:
    """Every distinct (progress, status message, steps) an Operation showed while polled."""

    def __init__(self, stack: Stack, name: str) -> None:
        self.stack = stack
        self.name = name
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.3):
            try:
                meta = self.stack.ok("GET", f"/v1/{self.name}")["metadata"]
            except Exception:  # a poll that failed: the next one counts
                continue
            steps = " ".join(
                f"{s['name'].split()[1].removeprefix('kafka-')}={s['state']}"
                for s in meta["steps"]
                if " " in s["name"]
            )
            line = f"{meta['progress_percent']:4d}% {meta['status_message']}" + (
                f"\n        {steps}" if steps else ""
            )
            if not self.lines or self.lines[-1] != line:
                self.lines.append(line)

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join(5)
        meta = self.stack.ok("GET", f"/v1/{self.name}")["metadata"]
        self.lines.append(f"{meta['progress_percent']:4d}% {meta['status_message']}")
        return self.lines


def _check_read_back(rc: RollCluster, stack: Stack, sent: list[bytes], prefix: str) -> None:
    rc.refresh(stack)
    rc.total += len(sent)
    messages = read_all(rc.config, TOPIC, PARTITIONS, expected=rc.total, timeout=90)
    got = Counter(m.value() for m in messages if (m.value() or b"").startswith(prefix.encode()))
    lost = [v for v in sent if v not in got]
    duplicated = [v for v, n in got.items() if n > 1]
    assert not lost, f"{len(lost)} of {len(sent)} messages lost, first {lost[:3]}"
    assert not duplicated, f"{len(duplicated)} duplicated, first {duplicated[:3]}"
    assert len(got) == len(sent)


def _wait_rolled(stack: Stack, op: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    return stack.wait_op(op, timeout=timeout)


def test_1_config_change_restarts_each_broker_once(stack: Stack, roll_cluster: RollCluster) -> None:
    rc = roll_cluster
    rc.refresh(stack)
    watch = PodWatch(stack, rc.namespace)
    load = Load(rc.config, "config")
    op = stack.ok("PATCH", rc.path, json={"config": {"offsets.retention.minutes": "10081"}})
    done = _wait_rolled(stack, op)
    sent = load.stop()
    restarts = watch.stop()
    # Controllers do not read this setting: only the brokers restart, each once.
    assert restarts == {p: int("broker" in p) for p in PODS}, restarts
    assert watch.most_down <= 1
    steps = {s["name"]: s["state"] for s in done["metadata"]["steps"]}
    assert stack.ok("GET", rc.path)["state"] == "ACTIVE", steps
    _check_read_back(rc, stack, sent, "config")
    print(f"config roll: {len(sent)} messages, restarts {restarts}")


def _broker_processes(stack: Stack, namespace: str, pod: str) -> list[int]:
    return [p.pid for p in stack.substrate.pod_processes(namespace, pod)]


def test_2_roll_blocked_by_an_under_replicated_partition(
    stack: Stack, roll_cluster: RollCluster
) -> None:
    rc = roll_cluster
    rc.refresh(stack)
    load = Load(rc.config, "blocked")
    # The last broker in roll order: stopped before the roll reaches it, its partitions fall
    # out of sync and the roll must wait with a visible reason.
    victim = f"{names.BROKERS}-2"
    pids = _broker_processes(stack, rc.namespace, victim)
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        # Once the controller fences the stopped broker, its partitions are under-replicated.
        admin = AdminClient(rc.config)

        def under_replicated() -> bool:
            topic = admin.list_topics(TOPIC, timeout=10).topics[TOPIC]
            return any(len(p.isrs) < len(p.replicas) for p in topic.partitions.values())

        wait_for(under_replicated, 60, "a partition to be under-replicated")
        op = stack.ok("PATCH", rc.path, json={"config": {"offsets.retention.minutes": "10082"}})

        reports: list[str] = []

        def blocked() -> dict[str, Any] | None:
            got = stack.ok("GET", f"/v1/{op['name']}")
            message = str(got["metadata"].get("status_message", ""))
            if message.startswith("blocked: ") and message not in reports:
                reports.append(message)
            # A pass whose reads of Kafka fail (a request sent to the stopped broker times out)
            # blocks too, saying so ("the partitions could not be described"); a later pass
            # reads them and names the rule.
            if "could not be described" in message:
                return None
            return got if message.startswith("blocked: ") else None

        try:
            seen = wait_for(blocked, 240, "the roll to report why it is blocked")
        except AssertionError as failure:
            raise AssertionError(f"{failure}; blocked reports seen: {reports}") from None
        states = {s["name"]: s["state"] for s in seen["metadata"]["steps"]}
        assert "BLOCKED" in states.values(), seen["metadata"]
        # The planner names the first rule the next broker would break: its restart would take
        # the stopped broker's partitions below min ISR, or they are under-replicated.
        message = seen["metadata"]["status_message"]
        assert "under-replicated" in message or "below min.insync.replicas" in message, message
        assert not seen["done"]
        print("blocked:", seen["metadata"]["status_message"], states)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    _wait_rolled(stack, op)
    sent = load.stop()
    _check_read_back(rc, stack, sent, "blocked")


def test_2b_cancel_stops_between_two_pods(stack: Stack, roll_cluster: RollCluster) -> None:
    rc = roll_cluster
    rc.refresh(stack)
    watch = PodWatch(stack, rc.namespace)
    op = stack.ok("PATCH", rc.path, json={"config": {"offsets.retention.minutes": "10083"}})

    def restarting() -> dict[str, Any] | None:
        got = stack.ok("GET", f"/v1/{op['name']}")
        return got if got["metadata"]["status_message"].startswith("restarting ") else None

    wait_for(restarting, 120, "the roll to start")
    stack.ok("POST", f"/v1/{op['name']}:cancel")
    cancelled = wait_for(
        lambda: (got := stack.ok("GET", f"/v1/{op['name']}"))["done"] and got,
        120,
        "the cancelled Operation to end",
    )
    assert cancelled["error"]["status"] == "CANCELLED", cancelled
    # The pod in progress finished; no other was touched.
    wait_for(lambda: stack.ok("GET", rc.path)["state"] == "ACTIVE", 120, "the cluster ACTIVE")
    restarts = watch.stop()
    assert sum(restarts.values()) == 1, restarts
    assert watch.most_down <= 1
    conditions = {c["type"]: c for c in stack.ok("GET", rc.path)["conditions"]}
    assert conditions["PodsUpToDate"]["reason"] == "Cancelled", conditions


def test_3_upgrade_then_finalize_then_no_downgrade(stack: Stack, roll_cluster: RollCluster) -> None:
    rc = roll_cluster
    rc.refresh(stack)
    watch = PodWatch(stack, rc.namespace)
    load = Load(rc.config, "upgrade")
    op = stack.ok("PATCH", rc.path, json={"kafka_version": NEW})
    progress = OperationWatch(stack, op["name"])
    done = _wait_rolled(stack, op, timeout=420)
    seen = progress.stop()
    print("upgrade as the Operation showed it:\n" + "\n".join(seen))
    assert any("finalizing metadata.version" in line for line in seen), seen
    sent = load.stop()
    restarts = watch.stop()
    assert restarts == dict.fromkeys(PODS, 1), restarts
    assert watch.most_down <= 1
    body = stack.ok("GET", rc.path)
    assert body["running_kafka_version"] == NEW
    assert {b["kafka_version"] for b in body["brokers"]} == {NEW}
    print("upgrade steps:", done["metadata"]["steps"])
    _check_read_back(rc, stack, sent, "upgrade")
    client = KafkaAdminClient(
        **client_config(
            str(rc.config["bootstrap.servers"]), ADMIN_USERNAME, rc.password, 30.0, "e2e"
        )
    )
    try:
        mv = client.describe_features()["metadata.version"]
    finally:
        client.close()
    assert mv["finalized"][1] == mv["supported"][1], mv
    down = stack.call("PATCH", rc.path, json={"kafka_version": OLD})
    print("downgrade:", down.status_code, down.text)
    assert down.status_code == 400, down.text
    assert down.json()["error"]["status"] == "FAILED_PRECONDITION"
