"""A real Celery worker (prefork pool, two children) with KPLANE_WORKER_METRICS_PORT serves
Prometheus text from its main process: reconcile passes counted and timed per kind and outcome
exactly as many as ran, whichever child ran them; the queue depth read from the real Redis; the
unconverged resources counted in the real Postgres."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from celery import Celery
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.models import ResourceStatus
from devstack.postgres import LocalPostgres
from devstack.proc import free_port, port_open, wait_until
from devstack.redis import LocalRedis
from tests.conftest import REPO, migrate
from tests.integration.workers.conftest import cluster_row
from workers.metrics import QueueDepth

Series = tuple[str, str]  # kind, outcome


@dataclass
class Worker:
    metrics_url: str
    redis_url: str
    database_url: str
    log_path: Path

    def unconverged(self) -> dict[str, float]:
        r = httpx.get(self.metrics_url, timeout=5)
        return {
            s.labels["kind"]: s.value
            for family in text_string_to_metric_families(r.text)
            for s in family.samples
            if s.name == "kplane_unconverged_resources"
        }

    def scrape(self) -> tuple[dict[Series, float], dict[str, float]]:
        """(reconcile pass counts by kind and outcome, queue depth by queue)."""
        r = httpx.get(self.metrics_url, timeout=5)
        assert r.status_code == 200, r.text
        passes: dict[Series, float] = {}
        depth: dict[str, float] = {}
        sums: dict[Series, float] = {}
        for family in text_string_to_metric_families(r.text):
            for s in family.samples:
                if s.name == "kplane_reconcile_duration_seconds_count":
                    passes[(s.labels["kind"], s.labels["outcome"])] = s.value
                elif s.name == "kplane_reconcile_duration_seconds_sum":
                    sums[(s.labels["kind"], s.labels["outcome"])] = s.value
                elif s.name == "kplane_queue_depth":
                    depth[s.labels["queue"]] = s.value
        assert all(sums[k] > 0 for k, v in passes.items() if v > 0)
        return passes, depth


@pytest.fixture(scope="module")
def worker(
    postgres: LocalPostgres, redis_server: LocalRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    tmp = tmp_path_factory.mktemp("worker-metrics")
    database_url = postgres.create_database("kplane_worker_metrics")
    migrate(database_url)
    # A Redis database of its own: no other worker consumes this queue.
    redis_url = redis_server.url.rsplit("/", 1)[0] + "/13"
    redis.Redis.from_url(redis_url).flushdb()
    # The tasks build a Kubernetes client before reading anything: an address nobody serves.
    kubeconfig = tmp / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        "clusters: [{name: x, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: x, user: {token: t}}]\n"
        "contexts: [{name: x, context: {cluster: x, user: x}}]\n"
    )
    port = free_port()
    env = {
        **os.environ,
        "KPLANE_DATABASE_URL": database_url,
        "KPLANE_REDIS_URL": redis_url,
        "KPLANE_WORKER_KUBECONFIG": str(kubeconfig),
        "KPLANE_WORKER_METRICS_PORT": str(port),
        "KPLANE_WORKER_METRICS_HOST": "127.0.0.1",
    }
    log_path = tmp / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workers.celery_app",
                "worker",
                "-Q",
                "kplane",
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(
            lambda: port_open("127.0.0.1", port) or proc.poll() is not None,
            120,
            "the worker's metrics port",
        )
        assert proc.poll() is None, log_path.read_text()
        yield Worker(f"http://127.0.0.1:{port}/metrics", redis_url, database_url, log_path)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_passes_are_counted_per_kind_and_outcome_exactly(worker: Worker) -> None:
    before, _ = worker.scrape()
    client = Celery(broker=worker.redis_url)
    for _ in range(3):  # no such cluster: the pass ends Ready
        client.send_task("topics.reconcile", args=[str(uuid.uuid4())], queue="kplane")
    for _ in range(2):
        client.send_task("acls.reconcile", args=["not-a-uuid"], queue="kplane")
    expected = {("topics", "ready"): 3, ("acls", "invalid"): 2}

    def moved() -> dict[Series, float]:
        after, _ = worker.scrape()
        return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}

    try:
        wait_until(lambda: moved() == expected, 60, f"the passes {expected} in /metrics")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}: {moved()}\n{worker.log_path.read_text()[-3000:]}") from None
    _, depth = worker.scrape()
    assert depth == {"kplane": 0}  # every message taken


def test_unconverged_resources_follow_the_database(worker: Worker) -> None:
    assert worker.unconverged() == {"clusters": 0, "topics": 0, "acls": 0, "users": 0}
    engine = create_engine(worker.database_url.replace("+asyncpg", "+psycopg"))
    uids = [uuid.uuid4() for _ in range(3)]
    try:
        with Session(engine) as session:
            for i, uid in enumerate(uids):
                cluster_row(session, f"c{i}", project_id="metrics", uid=uid)
            # c0 converged (ACTIVE at its generation), c1 behind (generation 0 observed), c2
            # without any status yet: two unconverged.
            for uid, observed in ((uids[0], 1), (uids[1], 0)):
                session.add(
                    ResourceStatus(
                        resource_uid=uid,
                        kind="cluster",
                        cluster_uid=uid,
                        observed_generation=observed,
                        state="ACTIVE",
                        data={},
                    )
                )
            session.commit()
        assert worker.unconverged() == {"clusters": 2, "topics": 0, "acls": 0, "users": 0}
    finally:
        engine.dispose()


def test_queue_depth_is_the_length_of_the_queue_in_redis(redis_server: LocalRedis) -> None:
    client: redis.Redis[bytes] = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/12")
    queue = f"q-{uuid.uuid4().hex[:8]}"
    client.rpush(queue, b"a", b"b", b"c")
    try:
        (family,) = list(QueueDepth(client, queue).collect())
        assert [(s.labels, s.value) for s in family.samples] == [({"queue": queue}, 3.0)]
    finally:
        client.delete(queue)
    unreachable: redis.Redis[bytes] = redis.Redis(
        port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5
    )
    assert list(QueueDepth(unreachable, queue).collect()) == []  # no sample, no error
