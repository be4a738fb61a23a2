"""Topics through kplane, beside the raw Admin API on the same cluster, in one run:

* one topic: API response (the create's 200) → the topic `ACTIVE`, sequentially, p50/p99
  (goal p50 <= 500 ms, p99 <= 2 s);
* bulk: N topics (default 1,000) created through the API's `topics:batchCreate` → all
  `ACTIVE`, once as one call of N and once as 10 concurrent calls of N/10, beside one raw
  Admin API batch creating N other topics, measured before and after them (goals: the call
  itself <= 1x the raw batch, all ACTIVE <= 3x);
* for reference, the old way: N single-topic POSTs from 32 concurrent clients (``--singles``).

Topics have 1 partition and replication factor 1 on both sides, so six 256 MiB-heap JVMs on two
cores hold them all. Beside each figure: the API process's CPU time during the call and how busy
the machine's cores were (the stack at rest is measured first), since on two cores a call's wall
time is mostly its share of them. Run ``make bench-topics``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from app.core.secrets import ADMIN_USERNAME
from bench.apistack import cpu_seconds
from bench.workers_stack import BenchStack, bench_stack
from workers.adapters.kafka_admin import confluent_config
from workers.builders import names

CLUSTER = "/v1/projects/bench/clusters/t"
# The poll for "all ACTIVE": a filtered list call every 20 ms resolves the moment to ~1% of the
# figure; polling back to back cost a third of a core that the workers and brokers then lacked.
POLL_SECONDS = 0.02


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of every core since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def postgres_cpu() -> float:
    """CPU seconds used so far by every Postgres process (the stack's only Postgres)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "postgres":
                total += cpu_seconds(int(entry.name))
        except OSError:
            continue  # gone meanwhile
    return total


class Busy:
    """How busy the machine's cores were between start() and stop(), 0..1."""

    def start(self) -> Busy:
        self.before = machine_jiffies()
        return self

    def stop(self) -> float:
        busy, total = machine_jiffies()
        return (busy - self.before[0]) / max(1, total - self.before[1])


@dataclass
class Bulk:
    responded: float  # seconds until the calls returned
    active: float  # seconds until all ACTIVE
    api_cpu: float  # CPU seconds the API process used during the calls
    postgres_cpu: float  # and Postgres
    busy: float  # how busy the machine was during the calls, 0..1


def admin_client(stack: BenchStack) -> AdminClient:
    cluster = stack.ok("GET", CLUSTER)
    secret = stack.substrate.rest().get(
        f"/api/v1/namespaces/kplane-{cluster['uid']}/secrets/{names.SECRET}"
    )
    return AdminClient(
        confluent_config(
            cluster["bootstrap_servers"], ADMIN_USERNAME, names.admin_password_in(secret)
        )
    )


def single_topic_latency(stack: BenchStack, count: int) -> list[float]:
    out = []
    for i in range(count):
        stack.ok("POST", f"{CLUSTER}/topics", params={"topic_id": f"one-{i}"}, json={})
        responded = time.monotonic()
        while stack.ok("GET", f"{CLUSTER}/topics/one-{i}")["state"] != "ACTIVE":
            if time.monotonic() - responded > 30:
                raise RuntimeError(f"topic one-{i} not ACTIVE after 30 s")
            time.sleep(0.005)
        out.append(time.monotonic() - responded)
    return out


async def post_all(base_url: str, count: int, concurrency: int = 32) -> None:
    headers = {"Authorization": f"Bearer {os.environ['KPLANE_ADMIN_TOKEN']}"}
    queue = list(range(count))
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:

        async def worker() -> None:
            while queue:
                i = queue.pop()
                body = {"partition_count": 1, "replication_factor": 1}
                r = await client.post(
                    f"{CLUSTER}/topics", params={"topic_id": f"bulk-single-{i}"}, json=body
                )
                if r.status_code != 200:
                    raise RuntimeError(f"create bulk-single-{i}: {r.status_code} {r.text}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def batch_create(base_url: str, prefix: str, count: int, calls: int) -> tuple[float, float]:
    """`count` topics in `calls` concurrent batchCreate calls: (the monotonic time they were
    sent, the seconds until the last response was read). The client is made and connected
    before (as the raw side's Admin client is): an httpx client's set-up alone (its TLS
    context) costs tens of ms."""
    headers = {"Authorization": f"Bearer {os.environ['KPLANE_ADMIN_TOKEN']}"}
    per_call = -(-count // calls)
    topic = {"partition_count": 1, "replication_factor": 1}
    bodies: list[dict[str, list[dict[str, Any]]]] = [
        {
            "requests": [
                {"topic_id": f"{prefix}{i}", "topic": topic}
                for i in range(start, min(count, start + per_call))
            ]
        }
        for start in range(0, count, per_call)
    ]
    limits = httpx.Limits(max_connections=calls)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=120, limits=limits
    ) as client:
        # One connection per concurrent call, opened before the clock starts.
        await asyncio.gather(*(client.get("/healthz") for _ in range(calls)))

        async def one(body: dict[str, list[dict[str, Any]]]) -> None:
            r = await client.post(f"{CLUSTER}/topics:batchCreate", json=body)
            if r.status_code != 200 or len(r.json()["operations"]) != len(body["requests"]):
                raise RuntimeError(f"batchCreate {prefix}..: {r.status_code} {r.text[:300]}")

        started = time.monotonic()
        await asyncio.gather(*(one(body) for body in bodies))
        return started, time.monotonic() - started


def active_count(stack: BenchStack, prefix: str) -> int:
    count, token = 0, ""
    while True:
        page = stack.ok("GET", f"{CLUSTER}/topics", params={"page_size": 1000, "page_token": token})
        count += sum(
            1
            for t in page["topics"]
            if t["name"].rsplit("/", 1)[-1].startswith(prefix) and t["state"] == "ACTIVE"
        )
        token = page["next_page_token"]
        if not token:
            return count


def none_pending(stack: BenchStack, prefix: str) -> bool:
    """No topic named `prefix`* is in a state other than ACTIVE (one filtered list call)."""
    page = stack.ok(
        "GET",
        f"{CLUSTER}/topics",
        params={"page_size": 1, "filter": f'name = "{prefix}*" AND state != "ACTIVE"'},
    )
    return not page["topics"]


def until_active(stack: BenchStack, prefix: str, count: int, started: float) -> float:
    """Seconds from `started` until all `count` topics named `prefix`* are ACTIVE: polled with a
    filtered list (cheap, so the moment is seen within milliseconds), then confirmed by
    counting them all."""
    while True:
        while not none_pending(stack, prefix):
            if time.monotonic() - started > 600:
                raise RuntimeError(f"{prefix}* topics not ACTIVE after 600 s")
            time.sleep(POLL_SECONDS)
        done = time.monotonic() - started
        if active_count(stack, prefix) >= count:
            return done


def bulk_via_api(stack: BenchStack, prefix: str, count: int, calls: int) -> Bulk:
    api = stack.cp.procs["api"].pid
    cpu, pg, busy = cpu_seconds(api), postgres_cpu(), Busy().start()
    started, responded = asyncio.run(batch_create(stack.cp.api_url, prefix, count, calls))
    cpu, pg, load = cpu_seconds(api) - cpu, postgres_cpu() - pg, busy.stop()
    # The API's CPU and the cores' load span the client's set-up too (a few ms of it).
    return Bulk(responded, until_active(stack, prefix, count, started), cpu, pg, load)


def raw_batch(admin: AdminClient, prefix: str, count: int) -> float:
    started = time.monotonic()
    futures = admin.create_topics(
        [NewTopic(f"{prefix}{i}", 1, 1) for i in range(count)], operation_timeout=60
    )
    for future in futures.values():
        future.result(timeout=120)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--latency-samples", type=int, default=50)
    parser.add_argument(
        "--singles", action="store_true", help="also N single-topic POSTs (the old way)"
    )
    args = parser.parse_args()
    n = args.topics
    with bench_stack() as stack:
        stack.ok("POST", "/v1/projects", params={"project_id": "bench"}, json={})
        stack.create_cluster("bench", "t")
        latency = sorted(single_topic_latency(stack, args.latency_samples))
        admin = admin_client(stack)
        rest = Busy().start()
        time.sleep(5)  # the measurement itself: the stack at rest
        at_rest = rest.stop()

        raw_before = raw_batch(admin, "raw-a-", n)
        one_call = bulk_via_api(stack, "bulk-", n, 1)
        ten_calls = bulk_via_api(stack, "bulk10-", n, 10)
        raw_after = raw_batch(admin, "raw-b-", n)
        del admin  # its connections must not outlive the cluster
        singles: float | None = None
        if args.singles:
            started = time.monotonic()
            asyncio.run(post_all(stack.cp.api_url, n))
            singles = until_active(stack, "bulk-single-", n, started)

    raw = (raw_before + raw_after) / 2
    p50 = statistics.median(latency)
    p99 = latency[min(len(latency) - 1, round(0.99 * (len(latency) - 1)))]
    print(
        f"one topic, API response -> ACTIVE ({len(latency)} sequential): p50 {p50 * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {latency[-1] * 1000:.0f} ms"
        "  (goal p50 <= 500 ms, p99 <= 2 s)"
    )
    print(
        f"raw Admin API batch of {n} topics: {raw_before:.2f} s before, {raw_after:.2f} s after"
        f" (mean {raw:.2f} s)"
    )
    print(f"the stack at rest keeps the machine's cores {at_rest:.0%} busy")
    for label, bulk in (
        (f"1 x {n}", one_call),
        (f"10 x {-(-n // 10)} concurrent", ten_calls),
    ):
        print(
            f"bulk {n} topics via topics:batchCreate ({label}): calls returned in "
            f"{bulk.responded:.2f} s = {bulk.responded / raw:.2f}x the raw batch (goal <= 1x; "
            f"CPU: API {bulk.api_cpu:.2f} s, Postgres {bulk.postgres_cpu:.2f} s; cores "
            f"{bulk.busy:.0%} busy meanwhile), all ACTIVE in {bulk.active:.2f} s = "
            f"{n / bulk.active:.0f} topics/s, "
            f"{bulk.active / raw:.1f}x the raw batch  (goal <= 3x)"
        )
    if singles is not None:
        print(
            f"bulk {n} topics as single POSTs (32 clients): all ACTIVE in {singles:.1f} s = "
            f"{n / singles:.0f} topics/s, {singles / raw:.1f}x the raw batch"
        )


if __name__ == "__main__":
    main()
