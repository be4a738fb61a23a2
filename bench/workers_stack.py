"""The full local system for the reconcile-engine benchmarks: Postgres (migrated), Redis, the
devstack Kubernetes with its pod runner, the API, one worker and the leader-elected beat —
the same parts and settings as the e2e suite — and a small REST client."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devstack.controlplane import REPO, ControlPlane
from devstack.kube.binaries import cache_root
from devstack.kube.substrate import KubeSubstrate, SubstrateBusy
from devstack.postgres import LocalPostgres
from devstack.redis import LocalRedis

ADMIN_TOKEN = "bench-admin-token-0123456789"
SMALL = {"cpu": 0.25, "memory_gib": 0.5}


@dataclass
class BenchStack:
    cp: ControlPlane
    http: httpx.Client
    substrate: KubeSubstrate
    database_url: str

    def ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        r = self.http.request(method, path, **kwargs)
        if r.status_code != 200:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text}")
        body: dict[str, Any] = r.json()
        return body

    def wait_op(self, op: dict[str, Any], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not op["done"]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"operation not done after {timeout}s: {op}")
            op = self.ok("GET", f"/v1/{op['name']}", params={"wait_seconds": 5})
        if "error" in op:
            raise RuntimeError(f"operation failed: {op['error']}")
        return op

    def create_cluster(self, project: str, cluster: str, brokers: int = 3) -> float:
        """POST a 3+3 (or 1+1) cluster and wait for ACTIVE; seconds from the POST."""
        started = time.monotonic()
        op = self.ok(
            "POST",
            f"/v1/projects/{project}/clusters",
            params={"cluster_id": cluster},
            json={
                "broker_count": brokers,
                "controller_count": 3 if brokers >= 3 else 1,
                "broker_resources": SMALL,
                "storage_gib": 1,
            },
        )
        self.wait_op(op, timeout=300)
        return time.monotonic() - started


@contextmanager
def bench_stack(resync_seconds: float = 30.0) -> Iterator[BenchStack]:
    """Everything up (a minute on a cold machine), everything down afterwards."""
    os.environ.setdefault("KPLANE_ADMIN_TOKEN", ADMIN_TOKEN)
    os.environ.setdefault("KPLANE_SECRET_KEY", "bench-secret-key-0123456789")
    os.environ.setdefault("KPLANE_ENVIRONMENT", "test")
    # Reconciles log per pass at INFO; the API stays quiet.
    os.environ.setdefault("KPLANE_LOG_LEVEL", "WARNING")
    workdir = Path(tempfile.mkdtemp(prefix="kplane-bench-"))
    workdir.chmod(0o711)
    postgres = LocalPostgres(workdir / "pg")
    redis = LocalRedis(workdir / "redis")
    substrate: KubeSubstrate | None = None
    cp: ControlPlane | None = None
    try:
        postgres.start()
        url = postgres.create_database("kplane_bench")
        subprocess.run(
            [sys.executable, "-m", "alembic", "-x", f"url={url}", "upgrade", "head"],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        redis.start()
        for slot in range(4):
            try:
                substrate = KubeSubstrate(cache_root() / "devstack-bench" / f"slot-{slot}").start()
                break
            except SubstrateBusy:
                continue
        if substrate is None:
            raise RuntimeError("no free devstack slot for the benchmark")
        cp = ControlPlane(
            workdir=workdir / "kplane",
            database_url=url,
            redis_url=redis.url,
            kubeconfig=substrate.kubeconfig_path,
            env={
                "KPLANE_WORKER_JVM_PROFILE": "small",
                "KPLANE_WORKER_RESYNC_SECONDS": str(resync_seconds),
                "KPLANE_WORKER_RECHECK_SECONDS": str(resync_seconds),
                "KPLANE_RATE_LIMIT_PER_SECOND": "0",
                "KPLANE_LOG_LEVEL": "INFO",
            },
        )
        cp.start_api()
        cp.start_worker()
        cp.start_beat()
        with httpx.Client(
            base_url=cp.api_url,
            headers={"Authorization": f"Bearer {os.environ['KPLANE_ADMIN_TOKEN']}"},
            timeout=60,
        ) as http:
            yield BenchStack(cp, http, substrate, url)
    finally:
        if cp is not None:
            cp.stop_all()
        if substrate is not None:
            substrate.stop()
        redis.stop()
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)
