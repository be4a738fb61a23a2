"""kplane's own processes on this machine — the API, Celery workers and the leader-elected
beat — started against given Postgres/Redis/Kubernetes endpoints. Used by `make run`, the e2e
suite and the benchmarks, so all three run the system the same way.

Each process gets its own session (process group) and log file under the workdir, and is
stopped by PID only: SIGTERM then SIGKILL, or `kill()` for fault tests.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from devstack.proc import free_port, pid_alive, port_open, stop_pid, wait_until

REPO = Path(__file__).resolve().parents[1]


@dataclass
class ControlPlane:
    """The kplane processes of one local installation."""

    workdir: Path
    database_url: str
    redis_url: str
    kubeconfig: Path
    # Extra environment (KPLANE_* / KPLANE_WORKER_* settings) for every process.
    env: dict[str, str] = field(default_factory=dict)
    api_host: str = "127.0.0.1"
    api_port: int = 0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "KPLANE_DATABASE_URL": self.database_url,
            "KPLANE_REDIS_URL": self.redis_url,
            "KPLANE_WORKER_KUBECONFIG": str(self.kubeconfig),
            "PYTHONUNBUFFERED": "1",
            **self.env,
        }

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path(name), "ab") as log:
            proc = subprocess.Popen(
                argv,
                cwd=REPO,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop/kill reach its children
            )
        self.procs[name] = proc
        return proc

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    def start_api(self, timeout: float = 30.0) -> None:
        self.api_port = self.api_port or free_port(self.api_host)
        proc = self._spawn(
            "api",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:create_app",
                "--factory",
                "--host",
                self.api_host,
                "--port",
                str(self.api_port),
                "--no-access-log",
            ],
        )
        wait_until(
            lambda: port_open(self.api_host, self.api_port) or proc.poll() is not None,
            timeout,
            "the API to listen",
        )
        if proc.poll() is not None:
            raise RuntimeError(f"the API exited; see {self.log_path('api')}")

    def start_worker(self, name: str = "worker", concurrency: int = 2) -> subprocess.Popen[bytes]:
        return self._spawn(
            name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workers.celery_app",
                "worker",
                "-Q",
                "kplane",
                "--hostname",
                f"{name}@%h",
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
        )

    def start_beat(self, name: str = "beat") -> subprocess.Popen[bytes]:
        return self._spawn(name, [sys.executable, "-m", "workers.beat"])

    def kill(self, name: str) -> None:
        """SIGKILL the process group of `name` (a crash, for fault tests)."""
        proc = self.procs.pop(name)
        if pid_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self, name: str, grace: float = 15.0) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        # SIGTERM to the main process only: a Celery worker then finishes its running tasks
        # (warm shutdown); the whole group is killed only if it does not exit in time.
        if pid_alive(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        stop_pid(proc.pid)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)
