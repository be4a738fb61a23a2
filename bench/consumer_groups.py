"""`GET .../consumer_groups` for 1,000 groups (pages of 100) beside Kafka's own
ListConsumerGroups + ListConsumerGroupOffsets through confluent-kafka, in the same run, on the
same 1-broker cluster (goal: the API at most 1.5x).

Each API walk follows `next_page_token` through all ten pages; its caches (2 s) are let expire
before each cold walk, so a cold walk pays for every broker request (the listing once, one
DescribeGroups and ListOffsets per page, one OffsetFetch per group). A warm walk right after
shows what a console refresh loop costs. The raw side sends the listing, then every group's
OffsetFetch at once — what the API's list needs at the least (it also describes the groups and
reads the log end offsets, for members and lag). The two alternate, so a slower moment of the
machine hits both."""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import Future
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from app.consumer_groups.brokers import CACHE_SECONDS
from app.core.secrets import ADMIN_USERNAME
from bench.workers_stack import BenchStack, bench_stack
from workers.adapters.kafka_admin import confluent_config
from workers.builders import names

CLUSTER = "/v1/projects/bench/clusters/g"
TOPIC = "bench-cg"
PARTITIONS = 10
PREFIX = "bench-g-"


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


def make_groups(admin: AdminClient, count: int) -> None:
    """`count` EMPTY groups, each with a committed offset on every partition of the topic (a
    group whose commit the brokers refused — its coordinator still loading — is sent again)."""
    for future in admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)]).values():
        future.result(timeout=60)
    pending = [f"{PREFIX}{i:05d}" for i in range(count)]
    deadline = time.monotonic() + 300
    while pending:
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(pending)} groups could not be created, e.g. {pending[0]}")
        futures: dict[str, Future[Any]] = {}
        for group in pending:
            tps = [TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)]
            request = [ConsumerGroupTopicPartitions(group, tps)]
            futures |= admin.alter_consumer_group_offsets(request, request_timeout=60)
        pending = []
        for group, future in futures.items():
            try:
                result = future.result(timeout=120)
            except Exception:
                pending.append(group)
                continue
            if any(tp.error is not None for tp in result.topic_partitions or []):
                pending.append(group)


def api_walk(stack: BenchStack, page_size: int) -> tuple[float, list[dict[str, Any]]]:
    """Seconds to read every page, and the groups they held."""
    started = time.perf_counter()
    token, seen = "", []
    while True:
        params = {"filter": f'name = "{PREFIX}*"', "page_size": page_size, "page_token": token}
        body = stack.ok("GET", f"{CLUSTER}/consumer_groups", params=params)
        seen += body["consumer_groups"]
        token = body["next_page_token"]
        if not token:
            return time.perf_counter() - started, seen


def check_complete(stack: BenchStack, admin: AdminClient, count: int, page_size: int) -> None:
    """Every group listed, each as the brokers' own DescribeGroups and OffsetFetch say it
    (the list describes no EMPTY classic group: what it derives must be what they answer);
    else say which are missing or differ."""
    _, bodies = api_walk(stack, page_size)
    seen = [g["group_id"] for g in bodies]
    described = admin.describe_consumer_groups(seen, request_timeout=30)
    for g in bodies:
        d = described[g["group_id"]].result(timeout=60)
        raw = {
            "state": d.state.name,
            "protocol": d.partition_assignor or "",
            "simple": bool(d.is_simple_consumer_group),
            "coordinator": d.coordinator.id,
            "members": [m.member_id for m in d.members],
        }
        got = {k: g[k] for k in raw} | {"members": [m["member_id"] for m in g["members"]]}
        if got != raw:
            raise SystemExit(f"{g['group_id']}: the API says {got}, the brokers {raw}")
        offsets = {(o["topic"], o["partition"]): o["committed_offset"] for o in g["offsets"]}
        if offsets != {(TOPIC, p): 0 for p in range(PARTITIONS)}:
            raise SystemExit(f"{g['group_id']}: committed offsets {offsets}")
    missing = sorted({f"{PREFIX}{i:05d}" for i in range(count)} - set(seen))
    if missing:
        states = {}
        for name, future in admin.describe_consumer_groups(missing[:5], request_timeout=30).items():
            try:
                states[name] = str(future.result(timeout=60).state)
            except Exception as exc:
                states[name] = repr(exc)
        raise SystemExit(f"the API listed {len(seen)} of {count} groups; missing: {states}")


def raw_walk(admin: AdminClient) -> tuple[float, int]:
    started = time.perf_counter()
    listed = admin.list_consumer_groups(request_timeout=30).result(timeout=60)
    ids = [g.group_id for g in listed.valid if g.group_id.startswith(PREFIX)]
    futures = [admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(g)])[g] for g in ids]
    for future in futures:
        future.result(timeout=60)
    return time.perf_counter() - started, len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with bench_stack() as stack:
        stack.ok("POST", "/v1/projects", params={"project_id": "bench"}, json={})
        stack.create_cluster("bench", "g", brokers=1)
        admin = admin_client(stack)
        make_groups(admin, args.groups)
        time.sleep(CACHE_SECONDS + 0.2)
        check_complete(stack, admin, args.groups, args.page_size)
        cold, warm, raw = [], [], []
        for _ in range(args.rounds):
            time.sleep(CACHE_SECONDS + 0.2)  # let the API's caches expire: a cold walk
            seconds, groups = api_walk(stack, args.page_size)
            assert len(groups) == args.groups, len(groups)
            cold.append(seconds)
            warm.append(api_walk(stack, args.page_size)[0])
            seconds, seen = raw_walk(admin)
            assert seen == args.groups, seen
            raw.append(seconds)
        del admin  # its connections must not outlive the cluster
    c, w, r = statistics.median(cold), statistics.median(warm), statistics.median(raw)
    pages = -(-args.groups // args.page_size)
    print(
        f"{args.groups} groups, {pages} pages of {args.page_size}, median of {args.rounds}:\n"
        f"  GET .../consumer_groups, cold (caches expired): {c * 1000:.0f} ms = {c / r:.2f}x raw"
        "  (goal <= 1.5x)\n"
        f"  GET .../consumer_groups, warm (within {CACHE_SECONDS:g} s): {w * 1000:.0f} ms = "
        f"{w / r:.2f}x raw\n"
        f"  raw ListConsumerGroups + {args.groups} x ListConsumerGroupOffsets: {r * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
