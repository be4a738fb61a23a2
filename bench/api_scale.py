"""Is the API flat in the size of its tables? The same endpoints against two API stacks side by
side — one whose tables hold 1,000 topics over 200 clusters, one holding 200,000 (desired state
only: no workers) — printing each endpoint's mean latency and API CPU per request at both sizes
and their ratios (200k / 1k). The goal is every latency ratio <= 1.3.

The two stacks take turns, endpoint by endpoint, for `--rounds` rounds, so that a change in the
machine's load falls on both sizes alike. Each endpoint reads or writes one cluster of the 200;
PATCH and DELETE use topics seeded for them, each request its own topic with its etag. After the
seeding, ANALYZE refreshes the planner's statistics, as autovacuum would on a table that grew.

    .venv/bin/python -m bench.api_scale [--seconds 10] [--rounds 5] [--connections 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
from contextlib import ExitStack
from pathlib import Path

import asyncpg

from bench.api import CREATE_LUA, each_script
from bench.apistack import ApiStack, api_stack, cpu_seconds, etags, require_wrk, seed_topics, wrk

CLUSTERS = 200
SIZES = (1_000, 200_000)
GOAL = 1.3
MEASURED = 60  # topics of the measured cluster, c100
_PER_ROUND = 4000  # seeded topics per round for PATCH and for DELETE; each request uses one


async def analyze(url: str) -> None:
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def seed(stack: ApiStack, size: int, rounds: int) -> dict[str, list[Path]]:
    """`size` topics over CLUSTERS clusters, and the per-round wrk scripts of the writes. The
    measured cluster holds MEASURED topics at both sizes (a list of 50 reads 50 rows of the same
    shape at both); the rest share the other clusters."""
    others = CLUSTERS - 1
    with stack.client() as c:
        for i in range(CLUSTERS):
            cluster = f"c{i:03d}"
            c.post(f"/v1/projects/bench/clusters?cluster_id={cluster}", json={}).raise_for_status()
            count = MEASURED if cluster == "c100" else (size - MEASURED) // others
            seed_topics(c, cluster, [f"t{n:05d}" for n in range(count)])
        for name in ("u", "d", "w"):
            c.post(f"/v1/projects/bench/clusters?cluster_id={name}", json={}).raise_for_status()
        names = [f"s{i:06d}" for i in range(_PER_ROUND * rounds)]
        seed_topics(c, "u", names)
        seed_topics(c, "d", names)
        patch, delete = etags(c, "u"), etags(c, "d")
    asyncio.run(analyze(stack.database_url))
    body = '{"configs": {"retention.ms": "3600000"}}'
    scripts: dict[str, list[Path]] = {"create": [], "patch": [], "delete": []}
    for r in range(rounds):
        part = names[r * _PER_ROUND : (r + 1) * _PER_ROUND]
        create = stack.workdir / f"create-{r}.lua"
        create.write_text(CREATE_LUA.replace("TOKEN", stack.token).replace("ROUND", f"n{r}"))
        scripts["create"].append(create)
        scripts["patch"].append(
            each_script(
                stack.workdir / f"patch-{r}.lua",
                "PATCH",
                "u",
                stack.token,
                [(n, patch[n]) for n in part],
                body,
            )
        )
        scripts["delete"].append(
            each_script(
                stack.workdir / f"delete-{r}.lua",
                "DELETE",
                "d",
                stack.token,
                [(n, delete[n]) for n in part],
                "",
            )
        )
    return scripts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="per endpoint and size")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    require_wrk()
    with ExitStack() as stacks:
        stack_of = {size: stacks.enter_context(api_stack()) for size in SIZES}
        scripts = {}
        for size, stack in stack_of.items():
            print(f"seeding {size:,} topics over {CLUSTERS} clusters ...", flush=True)
            scripts[size] = seed(stack, size, args.rounds)
        # latency ms x requests, requests, cpu s, non-2xx — per (size, endpoint)
        totals: dict[tuple[int, str], list[float]] = {}
        share = max(1, round(args.seconds / args.rounds))
        endpoints = [
            "get one topic",
            "list 50 topics",
            "create topic",
            "patch topic (etag)",
            "delete topic (etag)",
        ]
        for r in range(args.rounds):
            for name in endpoints:
                for size, stack in stack_of.items():
                    topics = f"{stack.base}/v1/projects/bench/clusters/c100/topics"
                    url, tok, script = {
                        "get one topic": (f"{topics}/t00000", stack.token, None),
                        "list 50 topics": (f"{topics}?page_size=50", stack.token, None),
                        "create topic": (f"{stack.base}/", None, scripts[size]["create"][r]),
                        "patch topic (etag)": (f"{stack.base}/", None, scripts[size]["patch"][r]),
                        "delete topic (etag)": (
                            f"{stack.base}/",
                            None,
                            scripts[size]["delete"][r],
                        ),
                    }[name]
                    before = cpu_seconds(stack.api_pid)
                    run = wrk(url, share, args.connections, tok, script)
                    cpu = cpu_seconds(stack.api_pid) - before
                    t = totals.setdefault((size, name), [0.0, 0, 0.0, 0])
                    t[0] += run.latency_ms * run.total
                    t[1] += run.total
                    t[2] += cpu
                    t[3] += run.non_2xx
        small, large = SIZES
        print(
            f"\n{'endpoint':22} {'1k ms':>7} {'200k ms':>8} {'ratio':>6} {'goal':>5}"
            f" {'1k cpu us':>9} {'200k cpu us':>11} {'ratio':>6}  non-2xx"
        )
        for name in endpoints:
            a, b = totals[(small, name)], totals[(large, name)]
            lat_a, lat_b = a[0] / a[1], b[0] / b[1]
            cpu_a, cpu_b = a[2] / a[1] * 1e6, b[2] / b[1] * 1e6
            print(
                f"{name:22} {lat_a:7.2f} {lat_b:8.2f} {lat_b / lat_a:6.2f} {GOAL:5.1f}"
                f" {cpu_a:9.0f} {cpu_b:11.0f} {cpu_b / cpu_a:6.2f}  {int(a[3] + b[3])}"
            )
        print(f"\nload average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
