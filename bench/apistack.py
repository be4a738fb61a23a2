"""The API alone, for the API benchmarks: Postgres and Redis of their own, migrated, and one API
process (uvicorn, one worker) pinned to core 0 — no workers, so desired state stays desired —
plus wrk on core 1 and a few helpers to seed topics fast through the API itself."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from devstack.postgres import LocalPostgres
from devstack.proc import free_port, port_open, stop_pid, wait_until
from devstack.redis import LocalRedis

REPO = Path(__file__).resolve().parents[1]
ADMIN = "bench-admin-token-0123456789"


@dataclass
class ApiStack:
    base: str
    api_pid: int
    workdir: Path
    token: str  # an editor token of project `bench`
    database_url: str

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=120
        )


@dataclass
class Wrk:
    rps: float
    total: int
    non_2xx: int
    latency_ms: float  # mean

    @property
    def seconds(self) -> float:
        return self.total / self.rps


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str, seconds: int, connections: int, token: str | None, script: Path | None = None
) -> Wrk:
    cmd = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
    assert latency is not None, out
    return Wrk(rps, total, int(bad.group(1)) if bad else 0, _ms(*latency.groups()))


def seed_topics(c: httpx.Client, cluster: str, names: list[str]) -> None:
    """Create `names` in projects/bench/clusters/{cluster}, 1,000 per topics:batchCreate."""
    for i in range(0, len(names), 1000):
        requests = [{"topic_id": n, "topic": {}} for n in names[i : i + 1000]]
        r = c.post(
            f"/v1/projects/bench/clusters/{cluster}/topics:batchCreate",
            json={"requests": requests},
        )
        r.raise_for_status()


def etags(c: httpx.Client, cluster: str) -> dict[str, str]:
    """topic id -> etag of every topic of the cluster."""
    out: dict[str, str] = {}
    token = ""
    while True:
        r = c.get(
            f"/v1/projects/bench/clusters/{cluster}/topics",
            params={"page_size": 1000, "page_token": token},
        )
        r.raise_for_status()
        body = r.json()
        out.update({t["name"].rsplit("/", 1)[1]: t["etag"] for t in body["topics"]})
        token = body["next_page_token"]
        if not token:
            return out


def require_wrk() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: run `make os-deps`")


@contextmanager
def api_stack() -> Iterator[ApiStack]:
    """The stack, with project `bench` and its editor token; torn down afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="kplane-bench-"))
    workdir.chmod(0o711)
    pg = LocalPostgres(workdir / "pg")
    pg.start()
    # A live Redis, as in production: mutations send their reconcile messages (coalesced), and
    # no worker consumes them here.
    queue = LocalRedis(workdir / "redis")
    queue.start()
    api_pid = None
    try:
        env = {
            **os.environ,
            "KPLANE_DATABASE_URL": pg.url,
            "KPLANE_ADMIN_TOKEN": ADMIN,
            "KPLANE_LOG_LEVEL": "WARNING",
            "KPLANE_REDIS_URL": queue.url,
        }
        subprocess.run(
            [sys.executable, "-m", "alembic", "upgrade", "head"],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
        )
        port = free_port()
        api = subprocess.Popen(
            [
                *("taskset", "-c", "0", sys.executable, "-m", "uvicorn"),
                *("app.main:create_app", "--factory", "--port", str(port)),
                *("--no-access-log", "--log-level", "warning"),
            ],
            cwd=REPO,
            env=env,
        )
        api_pid = api.pid
        wait_until(lambda: port_open("127.0.0.1", port), 30, "the API")
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
            c.post("/v1/projects?project_id=bench", json={}).raise_for_status()
            token = c.post(
                "/v1/projects/bench/tokens?token_id=bench", json={"role": "editor"}
            ).json()["secret"]
        yield ApiStack(base, api_pid, workdir, token, pg.url)
    finally:
        if api_pid:
            stop_pid(api_pid)
        queue.stop()
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)
