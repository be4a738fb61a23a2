"""API throughput beside a plain echo endpoint of the same app, measured in one run.

One API process (uvicorn, one worker) pinned to core 0, wrk on core 1, PostgreSQL unpinned.
Prints requests/s of: the no-DB echo endpoint, GET one topic, list 50 topics, and create a
topic with an idempotency key (each request a new topic) — and each one's ratio to echo.

The endpoints take turns: `--rounds` rounds, each running every endpoint for its share of
`--seconds`, so that a change in the machine's load (it is shared) falls on all of them alike
rather than on whichever ran at that moment. Figures are totals over the rounds.

    .venv/bin/python bench/api.py [--seconds 10] [--rounds 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devstack.postgres import LocalPostgres  # noqa: E402
from devstack.proc import free_port, port_open, stop_pid, wait_until  # noqa: E402
from devstack.redis import LocalRedis  # noqa: E402

ADMIN = "bench-admin-token-0123456789"
GOALS = {"get one topic": 0.30, "list 50 topics": 0.10, "create topic (idempotent)": 0.15}

CREATE_LUA = """
local n = 0
request = function()
  n = n + 1
  local name = "ROUND-" .. n
  return wrk.format("POST", "/v1/projects/bench/clusters/w/topics?topic_id=" .. name,
    {["Authorization"] = "Bearer TOKEN", ["Content-Type"] = "application/json",
     ["Idempotency-Key"] = name}, "{}")
end
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(
    url: str, seconds: int, connections: int, token: str | None, script: Path | None = None
) -> tuple[float, int, int]:
    cmd = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, total, int(bad.group(1)) if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="per endpoint, all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: run `make os-deps`")
    workdir = Path(tempfile.mkdtemp(prefix="kplane-bench-"))
    workdir.chmod(0o711)
    pg = LocalPostgres(workdir / "pg")
    pg.start()
    # A live Redis, as in production: each create sends its reconcile message (coalesced), and
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
                "taskset",
                "-c",
                "0",
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:create_app",
                "--factory",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
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
            # GET and list read cluster `c` (50 topics); creates go to cluster `w`, so that the
            # list measures 50 of 50 in every round rather than the first 50 of a table that
            # grows by thousands of rows a second, faster than autovacuum refreshes the
            # planner's statistics.
            for cluster in ("c", "w"):
                c.post(
                    f"/v1/projects/bench/clusters?cluster_id={cluster}", json={}
                ).raise_for_status()
            for i in range(50):
                c.post(
                    f"/v1/projects/bench/clusters/c/topics?topic_id=t{i:03d}",
                    json={"partition_count": 3},
                ).raise_for_status()
        scripts: list[Path] = []
        for r in range(args.rounds):
            path = workdir / f"create-{r}.lua"
            path.write_text(CREATE_LUA.replace("TOKEN", token).replace("ROUND", f"b{r}"))
            scripts.append(path)
        topics = f"{base}/v1/projects/bench/clusters/c/topics"
        cases = [
            ("echo (no DB, no auth)", f"{base}/echo", None, []),
            ("get one topic", f"{topics}/t000", token, []),
            ("list 50 topics", f"{topics}?page_size=50", token, []),
            ("create topic (idempotent)", f"{base}/", None, scripts),
        ]
        wrk(f"{base}/echo", 2, args.connections, None)  # warm-up
        totals = {name: [0.0, 0, 0, 0.0] for name, *_ in cases}  # cpu s, requests, bad, s
        share = max(1, round(args.seconds / args.rounds))
        for r in range(args.rounds):
            for name, url, tok, lua in cases:
                script = lua[r] if lua else None  # a create script per round: new topic names
                before = cpu_seconds(api_pid)
                rps, total, bad = wrk(url, share, args.connections, tok, script)
                cpu = cpu_seconds(api_pid) - before
                t = totals[name]
                t[0], t[1], t[2], t[3] = t[0] + cpu, t[1] + total, t[2] + bad, t[3] + total / rps
        results = [
            (name, t[1] / t[3], t[0] / max(t[1], 1) * 1e6, int(t[2])) for name, t in totals.items()
        ]
        echo, echo_cpu = results[0][1], results[0][2]
        # Two views of the same ratio: throughput (what the goal names; needs a quiet machine)
        # and the API process's CPU per request (robust when other work shares the cores).
        print(
            f"\n{'endpoint':28} {'req/s':>8} {'x echo':>7} {'cpu us/req':>10} {'x echo':>7}"
            f" {'goal':>5}  non-2xx"
        )
        for name, rps, cpu_us, bad in results:
            goal = GOALS.get(name)
            goal_text = f"{goal:.2f}" if goal else "-"
            print(
                f"{name:28} {rps:8.0f} {rps / echo:7.2f} {cpu_us:10.0f} "
                f"{echo_cpu / cpu_us:7.2f} {goal_text:>5}  {bad}"
            )
        print(f"\nload average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    finally:
        if api_pid:
            stop_pid(api_pid)
        queue.stop()
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
