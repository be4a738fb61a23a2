"""Kafka-aware readiness through the whole system, on a cluster of its own (1 controller +
1 broker, small, created through the API; SIGSTOPping a broker of the shared cluster would
disturb the other tests): the frozen broker is NotReady within 10 s and out of the bootstrap
Service's Endpoints while its process lives on; after SIGCONT it is back in both, the cluster
is Ready again in the API and a producer's acks=all writes land.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from app.core.secrets import ADMIN_USERNAME
from devstack.kube.process import ProcRef
from tests.e2e.conftest import SMALL, Stack, wait_for
from tests.integration.broker.clients import create_topic
from workers.adapters.kafka_admin import confluent_config
from workers.builders import names

BROKER = f"{names.BROKERS}-0"
NOT_READY_WITHIN = 10.0
TOPIC = "after-sigcont"


@dataclass
class OwnCluster:
    path: str
    namespace: str
    password: str


@pytest.fixture(scope="module")
def own_cluster(stack: Stack, project: str) -> Iterator[OwnCluster]:
    op = stack.ok(
        "POST",
        f"/v1/projects/{project}/clusters",
        params={"cluster_id": "frozen"},
        json={
            "broker_count": 1,
            "controller_count": 1,
            "broker_resources": SMALL,
            "storage_gib": 1,
        },
    )
    path = f"/v1/projects/{project}/clusters/frozen"
    namespace = names.namespace_of(stack.ok("GET", path)["uid"])
    try:
        stack.wait_op(op, timeout=300)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n{diagnose(stack, namespace)}") from None
    secret = stack.substrate.rest().get(f"/api/v1/namespaces/{namespace}/secrets/{names.SECRET}")
    try:
        yield OwnCluster(path, namespace, names.admin_password_in(secret))
    finally:
        stack.wait_op(stack.ok("DELETE", path), timeout=300)


def diagnose(stack: Stack, namespace: str) -> str:
    """The pods, their probe events and log tails, for a cluster that did not become ready."""
    rest = stack.substrate.rest()
    lines = []
    for item in rest.get(f"/api/v1/namespaces/{namespace}/pods").get("items", []):
        name, status = item["metadata"]["name"], item.get("status", {})
        lines.append(f"{name}: {status.get('conditions')} {status.get('containerStatuses')}")
        log = stack.substrate.pod_log(namespace, name) or ""
        lines += ["    " + line for line in log.splitlines()[-15:]]
    for event in rest.get(f"/api/v1/namespaces/{namespace}/events").get("items", [])[-20:]:
        lines.append(f"event {event.get('reason')}: {event.get('message')}")
    return "\n".join(lines)


def pod(stack: Stack, namespace: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = stack.substrate.rest().get(
        f"/api/v1/namespaces/{namespace}/pods/{name}"
    )
    return found


def pod_ready(stack: Stack, namespace: str, name: str) -> bool:
    conditions = pod(stack, namespace, name).get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def bootstrap_ips(stack: Stack, namespace: str) -> tuple[set[str], set[str]]:
    """(ready, not ready) addresses of the clients' bootstrap Service."""
    eps = stack.substrate.rest().get_or_none(
        f"/api/v1/namespaces/{namespace}/endpoints/{names.BOOTSTRAP_SVC}"
    )
    subsets = (eps or {}).get("subsets") or []
    return (
        {a["ip"] for s in subsets for a in s.get("addresses", [])},
        {a["ip"] for s in subsets for a in s.get("notReadyAddresses", [])},
    )


def kafka_jvm(stack: Stack, namespace: str, name: str) -> ProcRef:
    for proc in stack.substrate.pod_processes(namespace, name):
        try:
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        if b"kafka.Kafka" in cmdline:
            return proc
    raise AssertionError(f"no Kafka JVM in pod {name}")


def cluster_ready(stack: Stack, path: str) -> dict[str, Any] | None:
    body = stack.ok("GET", path)
    ready = next((c for c in body.get("conditions", []) if c["type"] == "Ready"), None)
    return body if body["state"] == "ACTIVE" and ready and ready["status"] == "True" else None


def test_a_frozen_broker_is_not_ready_and_comes_back(stack: Stack, own_cluster: OwnCluster) -> None:
    ns = own_cluster.namespace
    ip = pod(stack, ns, BROKER)["status"]["podIP"]
    wait_for(lambda: bootstrap_ips(stack, ns) == ({ip}, set()), 60, "the broker ready in Endpoints")
    jvm = kafka_jvm(stack, ns, BROKER)
    os.kill(jvm.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        wait_for(lambda: not pod_ready(stack, ns, BROKER), 30, "the frozen broker NotReady")
        not_ready_after = time.monotonic() - stopped
        wait_for(
            lambda: bootstrap_ips(stack, ns) == (set(), {ip}), 30, "the broker out of Endpoints"
        )
        out_after = time.monotonic() - stopped
        assert jvm.alive()
        assert pod(stack, ns, BROKER)["status"]["containerStatuses"][0]["restartCount"] == 0
    finally:
        os.kill(jvm.pid, signal.SIGCONT)
    continued = time.monotonic()
    wait_for(lambda: bootstrap_ips(stack, ns) == ({ip}, set()), 60, "the broker back in Endpoints")
    back_after = time.monotonic() - continued
    body = wait_for(lambda: cluster_ready(stack, own_cluster.path), 120, "the cluster Ready")
    print(
        f"e2e: SIGSTOP -> NotReady {not_ready_after:.1f}s, out of Endpoints {out_after:.1f}s; "
        f"SIGCONT -> back in Endpoints {back_after:.1f}s"
    )
    assert not_ready_after <= NOT_READY_WITHIN, f"NotReady only after {not_ready_after:.1f}s"
    assert out_after <= NOT_READY_WITHIN, f"out of the Endpoints only after {out_after:.1f}s"

    config = confluent_config(body["bootstrap_servers"], ADMIN_USERNAME, own_cluster.password)
    create_topic(AdminClient(config), TOPIC, 1, 1)
    producer = Producer({**config, "acks": "all", "enable.idempotence": "true"})
    failed: list[str] = []
    for i in range(20):
        producer.produce(
            TOPIC,
            value=f"m{i}".encode(),
            on_delivery=lambda err, _msg: failed.append(str(err)) if err else None,
        )
    assert producer.flush(60) == 0
    assert failed == []
