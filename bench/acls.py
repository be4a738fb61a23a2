"""ACLs at scale, in one run on one cluster:

* 10,000 ACL entries over 1,000 resource patterns (`topic/acl-<i>`, 10 principals each) POSTed
  through the API → every Acl `ACTIVE` (goal <= 30 s);
* a steady-state resync of them: one `acls.reconcile` pass with nothing to change, timed from
  the worker's own reconcile-begin/end log lines (goal <= 3 s);
* beside: one raw Admin API `create_acls` batch of 10,000 bindings on 1,000 other patterns.

Run ``make bench-acls``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import time

import httpx
from celery import Celery
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)

from bench.topics import admin_client
from bench.workers_stack import BenchStack, bench_stack

CLUSTER = "/v1/projects/bench/clusters/t"
PRINCIPALS = [f"User:app-{j}" for j in range(10)]
LINE = re.compile(r"reconcile-(begin|end) task=acls.reconcile cluster=\S+ id=(\S+) t=([0-9.]+)")


async def post_acls(base_url: str, patterns: int, concurrency: int = 32) -> None:
    headers = {"Authorization": f"Bearer {os.environ['KPLANE_ADMIN_TOKEN']}"}
    queue = list(range(patterns))
    entries = [{"principal": p, "operation": "READ"} for p in PRINCIPALS]
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:

        async def worker() -> None:
            while queue:
                i = queue.pop()
                r = await client.post(
                    f"{CLUSTER}/acls",
                    params={"acl_id": f"topic/acl-{i}"},
                    json={"acl_entries": entries},
                )
                if r.status_code != 200:
                    raise RuntimeError(f"acl {i}: {r.status_code} {r.text}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def active_acls(stack: BenchStack) -> int:
    count, token = 0, ""
    while True:
        page = stack.ok("GET", f"{CLUSTER}/acls", params={"page_size": 1000, "page_token": token})
        count += sum(1 for a in page["acls"] if a["state"] == "ACTIVE")
        token = page["next_page_token"]
        if not token:
            return count


def passes(stack: BenchStack) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for m in LINE.finditer(stack.cp.log_path("worker").read_text(errors="replace")):
        out.setdefault(m.group(2), []).append(float(m.group(3)))
    return {k: v for k, v in out.items() if len(v) == 2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patterns", type=int, default=1000)
    args = parser.parse_args()
    with bench_stack() as stack:
        stack.ok("POST", "/v1/projects", params={"project_id": "bench"}, json={})
        stack.create_cluster("bench", "t")
        started = time.monotonic()
        asyncio.run(post_acls(stack.cp.api_url, args.patterns))
        posted = time.monotonic() - started
        while active_acls(stack) < args.patterns:
            if time.monotonic() - started > 600:
                raise RuntimeError("ACLs not ACTIVE after 600 s")
            time.sleep(0.25)
        converged = time.monotonic() - started

        uid = stack.ok("GET", CLUSTER)["uid"]
        sender = Celery("bench", broker=stack.cp.redis_url, set_as_current=False)
        sender.conf.update(task_serializer="json")
        steady: list[float] = []
        for _ in range(3):
            before = set(passes(stack))
            sender.send_task("acls.reconcile", args=[uid], queue="kplane")
            deadline = time.monotonic() + 60
            while not (new := set(passes(stack)) - before):
                if time.monotonic() > deadline:
                    raise RuntimeError("no acls.reconcile pass within 60 s")
                time.sleep(0.1)
            begin, end = passes(stack)[new.pop()]
            steady.append(end - begin)

        admin = admin_client(stack)
        bindings = [
            AclBinding(
                ResourceType.TOPIC,
                f"raw-acl-{i}",
                ResourcePatternType.LITERAL,
                p,
                "*",
                AclOperation.READ,
                AclPermissionType.ALLOW,
            )
            for i in range(args.patterns)
            for p in PRINCIPALS
        ]
        started = time.monotonic()
        for future in admin.create_acls(bindings, request_timeout=120).values():
            future.result(timeout=180)
        raw = time.monotonic() - started

    entries = args.patterns * len(PRINCIPALS)
    print(
        f"{entries} ACL entries over {args.patterns} patterns via the API: POSTs done in "
        f"{posted:.1f} s, all ACTIVE in {converged:.1f} s  (goal <= 30 s)"
    )
    print(
        "steady-state acls.reconcile pass (nothing to change): "
        + ", ".join(f"{s:.2f} s" for s in steady)
        + "  (goal <= 3 s)"
    )
    print(f"raw Admin API create_acls batch of {entries} bindings: {raw:.2f} s")
    print(f"ratio kplane converge / raw batch: {converged / raw:.2f}x")


if __name__ == "__main__":
    main()
