"""Topics through kplane, beside the raw Admin API on the same cluster, in one run:

* one topic: API response (the create's 200) → the topic `ACTIVE`, sequentially, p50/p99
  (goal p50 <= 500 ms, p99 <= 2 s);
* bulk: N topics (default 1,000) POSTed through the API by 32 concurrent clients → all `ACTIVE`,
  beside one raw Admin API batch creating N other topics (goal >= 50 topics/s end to end and
  <= 5x the raw batch).

Topics have 1 partition and replication factor 1 on both sides, so six 256 MiB-heap JVMs on two
cores hold 2N+ partitions. Run ``make bench-topics``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import time

import httpx
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from bench.workers_stack import BenchStack, bench_stack
from workers.builders import names

CLUSTER = "/v1/projects/bench/clusters/t"


def admin_client(stack: BenchStack) -> AdminClient:
    cluster = stack.ok("GET", CLUSTER)
    secret = stack.substrate.rest().get(
        f"/api/v1/namespaces/kplane-{cluster['uid']}/secrets/{names.SECRET}"
    )
    return AdminClient(
        {
            "bootstrap.servers": cluster["bootstrap_servers"],
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": names.ADMIN_USERNAME,
            "sasl.password": base64.b64decode(secret["data"]["admin-password"]).decode(),
        }
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
                    f"{CLUSTER}/topics", params={"topic_id": f"bulk-{i}"}, json=body
                )
                if r.status_code != 200:
                    raise RuntimeError(f"create bulk-{i}: {r.status_code} {r.text}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--latency-samples", type=int, default=50)
    args = parser.parse_args()
    with bench_stack() as stack:
        stack.ok("POST", "/v1/projects", params={"project_id": "bench"}, json={})
        stack.create_cluster("bench", "t")
        latency = sorted(single_topic_latency(stack, args.latency_samples))

        started = time.monotonic()
        asyncio.run(post_all(stack.cp.api_url, args.topics))
        posted = time.monotonic() - started
        while active_count(stack, "bulk-") < args.topics:
            if time.monotonic() - started > 600:
                raise RuntimeError("bulk topics not ACTIVE after 600 s")
            time.sleep(0.25)
        api_total = time.monotonic() - started

        admin = admin_client(stack)
        started = time.monotonic()
        futures = admin.create_topics(
            [NewTopic(f"raw-{i}", 1, 1) for i in range(args.topics)], operation_timeout=60
        )
        for future in futures.values():
            future.result(timeout=120)
        raw_total = time.monotonic() - started

    p50 = statistics.median(latency)
    p99 = latency[min(len(latency) - 1, round(0.99 * (len(latency) - 1)))]
    print(
        f"one topic, API response -> ACTIVE ({len(latency)} sequential): p50 {p50 * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {latency[-1] * 1000:.0f} ms"
        "  (goal p50 <= 500 ms, p99 <= 2 s)"
    )
    print(
        f"bulk {args.topics} topics via the API: POSTs done in {posted:.1f} s, all ACTIVE in "
        f"{api_total:.1f} s = {args.topics / api_total:.0f} topics/s  (goal >= 50/s)"
    )
    print(
        f"  of which after the last POST (the workers' tail): {api_total - posted:.1f} s"
        f" = {(api_total - posted) / raw_total:.1f}x the raw batch"
    )
    print(f"raw Admin API batch of {args.topics} topics: {raw_total:.2f} s")
    print(f"ratio kplane / raw: {api_total / raw_total:.2f}x  (goal <= 5x)")


if __name__ == "__main__":
    main()
