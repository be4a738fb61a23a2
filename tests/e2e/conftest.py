"""The whole system for the e2e suite, once per session: Postgres (migrated by Alembic), Redis,
the real Kubernetes substrate with the pod runner, the API, one Celery worker and the
leader-elected beat — plus one 3-controller/3-broker Kafka cluster created through the REST API
that most tests share (six small JVMs are what two cores can afford once).

The sweeper runs every 5 s here (30 s by default) so that fault tests stay short.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from confluent_kafka.admin import AdminClient

from app.core.secrets import ADMIN_USERNAME
from devstack.controlplane import ControlPlane
from devstack.kube.substrate import KubeSubstrate
from devstack.postgres import LocalPostgres
from devstack.pytest_plugin import kube_substrate
from devstack.redis import LocalRedis
from tests.conftest import migrate
from workers.adapters.kafka_admin import confluent_config
from workers.builders import names

__all__ = ["kube_substrate"]
T = TypeVar("T")
RESYNC_SECONDS = 5.0
ClientConfig = dict[str, str | int | float | bool]


def wait_for(
    condition: Callable[[], T | None], timeout: float, what: str, interval: float = 0.2
) -> T:
    """Poll until `condition()` is truthy and return it; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = condition()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


@dataclass
class Stack:
    """The running system and a small REST client for it."""

    cp: ControlPlane
    http: httpx.Client
    substrate: KubeSubstrate
    redis: LocalRedis
    database_url: str

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        r = self.call(method, path, **kwargs)
        assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text}"
        body: dict[str, Any] = r.json()
        return body

    def wait_op(self, op: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        """Long-poll an Operation until done; fail with its last state at the deadline."""
        deadline = time.monotonic() + timeout
        name = op["name"]
        while not op["done"]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"operation {name} not done after {timeout:g}s: {op}")
            op = self.ok("GET", f"/v1/{name}", params={"wait_seconds": min(20, max(1, int(left)))})
        assert "error" not in op, f"operation {name} failed: {op['error']}"
        return op

    def worker_logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.cp.workdir.glob("worker*.log"))
        )


@pytest.fixture(scope="session")
def stack(
    postgres: LocalPostgres, redis_server: LocalRedis, kube_substrate: KubeSubstrate
) -> Iterator[Stack]:
    url = postgres.create_database("kplane_e2e")
    migrate(url)
    workdir = Path(tempfile.mkdtemp(prefix="kplane-e2e-"))
    cp = ControlPlane(
        workdir=workdir,
        database_url=url,
        redis_url=redis_server.url,
        kubeconfig=kube_substrate.kubeconfig_path,
        env={
            "KPLANE_LOG_LEVEL": "INFO",
            "KPLANE_WORKER_JVM_PROFILE": "small",
            "KPLANE_WORKER_RESYNC_SECONDS": str(RESYNC_SECONDS),
            "KPLANE_WORKER_RECHECK_SECONDS": str(RESYNC_SECONDS),
            "KPLANE_WORKER_CONTROLLER_MEMORY_MIB": "512",
        },
    )

    token = os.environ["KPLANE_ADMIN_TOKEN"]
    try:
        cp.start_api()
        cp.start_worker()
        cp.start_beat()
        with httpx.Client(
            base_url=cp.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as http:
            yield Stack(cp, http, kube_substrate, redis_server, url)
    finally:
        cp.stop_all()
        keep = os.environ.get("KPLANE_E2E_KEEP_LOGS")
        if keep:
            shutil.copytree(workdir, keep, dirs_exist_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class Cluster:
    """The shared Kafka cluster, as the API reports it."""

    project: str
    cluster: str
    body: dict[str, Any]

    @property
    def path(self) -> str:
        return f"/v1/projects/{self.project}/clusters/{self.cluster}"

    def client_config(self, user: str, password: str) -> ClientConfig:
        return confluent_config(self.body["bootstrap_servers"], user, password)


SMALL = {"cpu": 0.25, "memory_gib": 0.5}


@pytest.fixture(scope="session")
def project(stack: Stack) -> str:
    stack.ok("POST", "/v1/projects", params={"project_id": "e2e"}, json={})
    return "e2e"


def _diagnose(stack: Stack, project: str) -> str:
    """What the pods and the worker were doing, for a cluster that did not become ready."""
    uid = stack.ok("GET", f"/v1/projects/{project}/clusters/main")["uid"]
    namespace = f"kplane-{uid}"
    lines = [f"--- pods in {namespace}:"]
    pods = stack.substrate.rest().get(f"/api/v1/namespaces/{namespace}/pods").get("items", [])
    for pod in pods:
        name = pod["metadata"]["name"]
        status = pod.get("status", {})
        ready = [c.get("status") for c in status.get("conditions", []) if c["type"] == "Ready"]
        states = [c.get("state") for c in status.get("containerStatuses", [])]
        lines.append(
            f"{name} phase={status.get('phase')} ip={status.get('podIP')} "
            f"ready={ready} states={states}"
        )
        log = stack.substrate.pod_log(namespace, name) or ""
        lines.append("    " + "\n    ".join(log.splitlines()[-15:]))
    lines.append("--- worker log tail:")
    lines += stack.worker_logs().splitlines()[-40:]
    return "\n".join(lines)


@pytest.fixture(scope="session")
def kafka(stack: Stack, project: str) -> Cluster:
    started = time.monotonic()
    op = stack.ok(
        "POST",
        f"/v1/projects/{project}/clusters",
        params={"cluster_id": "main"},
        json={
            "broker_count": 3,
            "controller_count": 3,
            "broker_resources": SMALL,
            "storage_gib": 1,
        },
    )
    try:
        stack.wait_op(op, timeout=240)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n{_diagnose(stack, project)}") from None
    body = stack.ok("GET", f"/v1/projects/{project}/clusters/main")
    print(f"3+3 cluster ACTIVE in {time.monotonic() - started:.1f}s")
    return Cluster(project, "main", body)


@pytest.fixture(scope="session")
def admin(stack: Stack, kafka: Cluster) -> AdminClient:
    """A client as the control plane's own principal, read from the cluster's Secret."""
    uid = stack.ok("GET", kafka.path)["uid"]
    secret = stack.substrate.rest().get(f"/api/v1/namespaces/kplane-{uid}/secrets/{names.SECRET}")
    password = names.admin_password_in(secret)
    return AdminClient(kafka.client_config(ADMIN_USERNAME, password))
