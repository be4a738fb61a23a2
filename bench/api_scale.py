"""Is the API flat in the size of its tables? The same endpoints with the API's tables holding
1,000 and then 200,000 topics over 200 clusters (desired state only: no workers), printing each
endpoint's mean latency at both sizes and the ratio (200k / 1k) — the goal is every ratio <= 1.3.

Each endpoint runs for `--seconds` with `--connections` connections (few: latency, not
throughput) against one cluster of the 200; PATCH and DELETE use topics seeded for them, each
request its own topic with its etag. After each seeding, ANALYZE refreshes the planner's
statistics, as autovacuum would on a table that grew.

    .venv/bin/python -m bench.api_scale [--seconds 4] [--connections 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os

import asyncpg

from bench.api import CREATE_LUA, each_script
from bench.apistack import ApiStack, api_stack, etags, require_wrk, seed_topics, wrk

CLUSTERS = 200
SIZES = (1_000, 200_000)
GOAL = 1.3
_SEEDED = 8000  # per PATCH and per DELETE phase; each request uses one


async def analyze(url: str) -> None:
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def grow(stack: ApiStack, per_cluster: int, have: int) -> None:
    """Seed every cluster up to `per_cluster` topics (it has `have`)."""
    with stack.client() as c:
        for i in range(CLUSTERS):
            seed_topics(c, f"c{i:03d}", [f"t{n:05d}" for n in range(have, per_cluster)])
    asyncio.run(analyze(stack.database_url))


def measure(stack: ApiStack, phase: str, seconds: int, connections: int) -> dict[str, float]:
    """Mean latency (ms) of each endpoint against cluster c100."""
    base, token, workdir = stack.base, stack.token, stack.workdir
    with stack.client() as c:
        for name in (f"u{phase}", f"d{phase}", f"w{phase}"):
            c.post(f"/v1/projects/bench/clusters?cluster_id={name}", json={}).raise_for_status()
        names = [f"s{i:05d}" for i in range(_SEEDED)]
        seed_topics(c, f"u{phase}", names)
        seed_topics(c, f"d{phase}", names)
        patch, delete = etags(c, f"u{phase}"), etags(c, f"d{phase}")
    asyncio.run(analyze(stack.database_url))
    create = workdir / f"create-{phase}.lua"
    create.write_text(
        CREATE_LUA.replace("TOKEN", token)
        .replace("ROUND", f"n{phase}")
        .replace("/clusters/w/", f"/clusters/w{phase}/")
    )
    body = '{"configs": {"retention.ms": "3600000"}}'
    patch_lua = each_script(
        workdir / f"patch-{phase}.lua", "PATCH", f"u{phase}", token, list(patch.items()), body
    )
    delete_lua = each_script(
        workdir / f"delete-{phase}.lua", "DELETE", f"d{phase}", token, list(delete.items()), ""
    )
    topics = f"{base}/v1/projects/bench/clusters/c100/topics"
    cases = {
        "get one topic": (f"{topics}/t00000", token, None),
        "list 50 topics": (f"{topics}?page_size=50", token, None),
        "create topic (idempotent)": (f"{base}/", None, create),
        "patch topic (etag)": (f"{base}/", None, patch_lua),
        "delete topic (etag)": (f"{base}/", None, delete_lua),
    }
    out = {}
    for name, (url, tok, script) in cases.items():
        run = wrk(url, seconds, connections, tok, script)
        if run.non_2xx:
            print(f"  {name}: {run.non_2xx} of {run.total} requests were not 2xx")
        out[name] = run.latency_ms
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    require_wrk()
    with api_stack() as stack:
        with stack.client() as c:
            for i in range(CLUSTERS):
                c.post(f"/v1/projects/bench/clusters?cluster_id=c{i:03d}", json={})
        results = {}
        have = 0
        for size in SIZES:
            per_cluster = size // CLUSTERS
            print(f"seeding {size:,} topics ({per_cluster} in each of {CLUSTERS} clusters) ...")
            grow(stack, per_cluster, have)
            have = per_cluster
            results[size] = measure(stack, str(size), args.seconds, args.connections)
        small, large = results[SIZES[0]], results[SIZES[1]]
        print(f"\n{'endpoint':28} {'1k ms':>8} {'200k ms':>8} {'ratio':>6} {'goal':>5}")
        for name in small:
            ratio = large[name] / small[name]
            print(f"{name:28} {small[name]:8.2f} {large[name]:8.2f} {ratio:6.2f} {GOAL:5.1f}")
        print(f"\nload average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
