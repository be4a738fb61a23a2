"""Faults: a worker SIGKILLed mid-provisioning, Redis flushed with work pending, the apiserver
stopped for 20 s, two workers competing for one cluster. Each ends converged, and nothing is
deleted on the way."""

from __future__ import annotations

import itertools
import os
import re
import signal
import time
from collections import defaultdict

import redis
from celery import Celery

from tests.e2e.conftest import RESYNC_SECONDS, SMALL, Cluster, Stack, wait_for
from workers.builders import names


def _ready_status(stack: Stack, path: str) -> str:
    body = stack.ok("GET", path)
    return next((c["status"] for c in body["conditions"] if c["type"] == "Ready"), "")


def test_worker_killed_mid_provisioning_converges_then_cluster_deletes(
    stack: Stack, project: str
) -> None:
    path = f"/v1/projects/{project}/clusters/crash"
    op = stack.ok(
        "POST",
        f"/v1/projects/{project}/clusters",
        params={"cluster_id": "crash"},
        json={
            "broker_count": 1,
            "controller_count": 1,
            "broker_resources": SMALL,
            "storage_gib": 1,
        },
    )
    uid = stack.ok("GET", path)["uid"]
    rest = stack.substrate.rest()
    namespace = f"kplane-{uid}"
    # Mid-provisioning: the StatefulSets exist, the pods are not ready yet.
    wait_for(
        lambda: rest.get_or_none(
            f"/apis/apps/v1/namespaces/{namespace}/statefulsets/{names.BROKERS}"
        ),
        60,
        "the broker StatefulSet",
        interval=0.05,
    )
    assert stack.ok("GET", path)["state"] == "CREATING"
    stack.cp.kill("worker")
    stack.cp.start_worker()
    stack.wait_op(op, timeout=180)
    assert stack.ok("GET", path)["state"] == "ACTIVE"

    # Deletion: refused while protected, then the namespace goes and the Operation completes.
    stack.wait_op(stack.ok("PATCH", path, json={"deletion_protection": True}))
    assert stack.call("DELETE", path).status_code == 400
    stack.wait_op(stack.ok("PATCH", path, json={"deletion_protection": False}))
    stack.wait_op(stack.ok("DELETE", path), timeout=180)
    assert stack.call("GET", path).status_code == 404
    assert rest.get_or_none(f"/api/v1/namespaces/{namespace}") is None


def test_flushall_with_work_pending_converges_within_one_sweep(
    stack: Stack, kafka: Cluster
) -> None:
    stack.cp.stop("worker")
    op = stack.ok("POST", f"{kafka.path}/topics", params={"topic_id": "after-flush"}, json={})
    client = redis.Redis.from_url(stack.redis.url)
    assert client.llen("kplane") >= 1, "the create's message waits in Redis"
    client.flushall()
    stack.cp.start_worker()
    # Nothing but the sweeper can bring the lost message back: one interval, plus the worker's
    # own start-up and one reconcile, with room for a loaded machine (a deadline, not a timing).
    stack.wait_op(op, timeout=RESYNC_SECONDS + 60)


def test_apiserver_stopped_conditions_unknown_nothing_deleted(stack: Stack, kafka: Cluster) -> None:
    uid = stack.ok("GET", kafka.path)["uid"]
    rest = stack.substrate.rest()
    pods_before = {
        p["metadata"]["name"]: p["metadata"]["uid"]
        for p in rest.get(f"/api/v1/namespaces/kplane-{uid}/pods")["items"]
    }
    apiserver = stack.substrate.pids()["kube-apiserver"]
    os.kill(apiserver.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        wait_for(
            lambda: _ready_status(stack, kafka.path) == "Unknown",
            30,
            "Ready=Unknown while the apiserver is stopped",
        )
        # Topics do not need the apiserver: they keep converging meanwhile.
        stack.wait_op(
            stack.ok("POST", f"{kafka.path}/topics", params={"topic_id": "during-outage"}, json={}),
            timeout=30,
        )
        wait_for(lambda: time.monotonic() - stopped >= 20, 30, "20 s of outage", interval=0.5)
    finally:
        os.kill(apiserver.pid, signal.SIGCONT)
    wait_for(lambda: _ready_status(stack, kafka.path) == "True", 60, "Ready=True again")
    body = stack.ok("GET", kafka.path)
    assert body["state"] == "ACTIVE"
    pods_after = {
        p["metadata"]["name"]: p["metadata"]["uid"]
        for p in rest.get(f"/api/v1/namespaces/kplane-{uid}/pods")["items"]
    }
    assert pods_after == pods_before, "no pod was deleted or replaced"


LINE = re.compile(r"reconcile-(begin|end) task=\S+ cluster=(\S+) id=(\S+) t=([0-9.]+)")


def test_two_workers_never_reconcile_one_cluster_at_once(stack: Stack, kafka: Cluster) -> None:
    uid = stack.ok("GET", kafka.path)["uid"]
    stack.cp.start_worker("worker2")
    log2 = stack.cp.log_path("worker2")
    wait_for(lambda: " ready." in log2.read_text(errors="replace"), 60, "worker2 to be ready")
    sender = Celery("e2e", broker=stack.redis.url, set_as_current=False)
    sender.conf.update(task_serializer="json", task_default_queue="kplane")
    try:
        # Bypass the API's coalescing: 40 messages for one cluster, all domains at once.
        for i in range(10):
            for task in ("clusters", "topics", "acls", "users"):
                sender.send_task(f"{task}.reconcile", args=[uid], queue="kplane")
        for i in range(5):
            stack.ok("POST", f"{kafka.path}/topics", params={"topic_id": f"two-{i}"}, json={})
        # Both workers reconciled this cluster, and the lock turned at least one pass away.
        wait_for(
            lambda: (
                f"cluster={uid}" in log2.read_text(errors="replace")
                and "'busy'" in stack.worker_logs()
            ),
            90,
            "contended reconciles in both workers",
            interval=0.5,
        )
        for i in range(5):
            topic = f"{kafka.path}/topics/two-{i}"

            def active(path: str = topic) -> bool:
                return bool(stack.ok("GET", path)["state"] == "ACTIVE")

            wait_for(active, 60, topic)
    finally:
        stack.cp.stop("worker2")
    spans: dict[str, dict[str, list[float]]] = defaultdict(dict)
    workers_seen: set[str] = set()
    for log in sorted(stack.cp.workdir.glob("worker*.log")):
        for line in log.read_text(errors="replace").splitlines():
            m = LINE.search(line)
            if m is None:
                continue
            _, cluster, rid, t = m.groups()
            spans[cluster].setdefault(rid, []).append(float(t))
            if cluster == uid:
                workers_seen.add(log.name)
    assert workers_seen >= {"worker.log", "worker2.log"}, f"only {workers_seen} took part"
    for cluster, by_id in spans.items():
        intervals = sorted((ts[0], ts[-1]) for ts in by_id.values() if len(ts) == 2)
        for (b1, e1), (b2, _) in itertools.pairwise(intervals):
            assert b2 >= e1, f"two reconciles of {cluster} overlapped: {b1}-{e1} and {b2}"
