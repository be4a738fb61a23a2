"""Scale-out 3 -> 5 and scale-in 5 -> 3 through the API, beside a raw
`alter_partition_reassignments` of the same moves on the same cluster, in one run.

One 3+3 cluster, topics holding data. For each direction the raw moves run first (kafka-python
straight at the brokers, unthrottled, timed until `list_partition_reassignments` is empty) and
are reverted, then kplane does the same change through the API (PATCH -> Operation done; its
partition-moving phase timed apart from pod start/stop). The plan is deterministic, so the raw
run moves exactly the partitions kplane then moves.

Run ``make bench-scale`` (or ``python -m bench.scale --topics 10 --mib 40``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from kafka import TopicPartition as KTP
from kafka.admin import KafkaAdminClient

from app.core.secrets import ADMIN_USERNAME
from bench.workers_stack import BenchStack, bench_stack
from workers.adapters.kafka_admin import confluent_config
from workers.adapters.kafka_python import client_config
from workers.builders import names
from workers.planning import scaling

Assignment = dict[tuple[str, int], tuple[int, ...]]


def configs(stack: BenchStack, uid: str, bootstrap: str) -> tuple[dict[str, Any], dict[str, Any]]:
    secret = stack.substrate.rest().get(f"/api/v1/namespaces/kplane-{uid}/secrets/{names.SECRET}")
    password = names.admin_password_in(secret)
    confluent = confluent_config(bootstrap, ADMIN_USERNAME, password)
    kp = client_config(bootstrap, ADMIN_USERNAME, password, 30.0, "bench")
    return confluent, kp


def assignment(admin: KafkaAdminClient) -> Assignment:
    return {
        (t["name"], p["partition_index"]): tuple(p["replica_nodes"])
        for t in admin.describe_topics()
        for p in t["partitions"]
    }


def raw_move(admin: KafkaAdminClient, moves: Mapping[tuple[str, int], Sequence[int]]) -> float:
    """Submit the moves at once and wait until no reassignment is in flight; seconds."""
    started = time.monotonic()
    admin.alter_partition_reassignments({KTP(t, p): list(r) for (t, p), r in moves.items()})
    # Done = nothing in flight and the metadata shows every target (it may trail the former).
    while admin.list_partition_reassignments() or any(
        assignment(admin).get(tp) != tuple(r) for tp, r in moves.items()
    ):
        time.sleep(0.2)
    return time.monotonic() - started


def kplane_change(stack: BenchStack, path: str, patch: dict[str, Any]) -> tuple[float, float]:
    """PATCH and follow the Operation: (seconds to done, seconds of its moving phase)."""
    started = time.monotonic()
    op = stack.ok("PATCH", path, json=patch)
    moving_since: float | None = None
    moving_until: float | None = None
    while not op["done"]:
        moving = "moving partitions" in op["metadata"].get("status_message", "")
        now = time.monotonic()
        if moving and moving_since is None:
            moving_since = now
        elif not moving and moving_since is not None and moving_until is None:
            moving_until = now
        time.sleep(0.2)
        op = stack.ok("GET", f"/v1/{op['name']}")
    end = time.monotonic()
    if "error" in op:
        raise RuntimeError(f"operation failed: {op['error']}")
    if moving_since is None:
        return end - started, 0.0
    return end - started, (moving_until or end) - moving_since


def fill(confluent: dict[str, Any], topics: list[str], mib: int) -> None:
    producer = Producer({**confluent, "acks": "all", "linger.ms": 20})
    value = b"x" * 1024
    for i in range(mib * 1024):
        producer.produce(topics[i % len(topics)], value)
        if i % 1000 == 0:
            producer.poll(0)
    producer.flush(120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topics", type=int, default=10)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--mib", type=int, default=40, help="data produced before scaling")
    args = parser.parse_args()
    with bench_stack() as stack:
        stack.ok("POST", "/v1/projects", params={"project_id": "bench"}, json={})
        stack.create_cluster("bench", "scale")
        path = "/v1/projects/bench/clusters/scale"
        body = stack.ok("GET", path)
        confluent, kp = configs(stack, body["uid"], body["bootstrap_servers"])
        topics = [f"load-{i}" for i in range(args.topics)]
        creator = AdminClient(confluent)  # kept alive until the futures are done
        futures = creator.create_topics(
            [NewTopic(t, args.partitions, 3, config={"min.insync.replicas": "2"}) for t in topics]
        )
        for f in futures.values():
            f.result(30)
        fill(confluent, topics, args.mib)
        print(f"{args.topics} topics x {args.partitions} partitions, RF 3, {args.mib} MiB")

        # Scale-out: kplane first (the new brokers must exist), then the same moves raw:
        # back to the start (untimed), forward again (timed).
        admin = KafkaAdminClient(**kp)
        start = assignment(admin)
        out_plan = scaling.plan(start, names.broker_ids(5))
        out_total, out_moving = kplane_change(stack, path, {"broker_count": 5})
        raw_move(admin, {tp: start[tp] for tp in out_plan.moves})
        raw_out = raw_move(admin, out_plan.moves)
        n_out = len(out_plan.moves)

        # Scale-in: raw evacuation of the same moves, reverted, then kplane's.
        current = assignment(admin)
        in_plan = scaling.plan(current, names.broker_ids(3))
        raw_in = raw_move(admin, in_plan.moves)
        raw_move(admin, {tp: current[tp] for tp in in_plan.moves})
        in_total, in_moving = kplane_change(stack, path, {"broker_count": 3})
        n_in = len(in_plan.moves)
        admin.close()

        def rate(n: int, s: float) -> str:
            return f"{n / s:6.1f} partitions/s" if s > 0 else "    n/a"

        print(
            f"scale-out 3->5: PATCH -> ACTIVE {out_total:6.1f} s "
            f"(moving phase {out_moving:5.1f} s, "
            f"{n_out} partitions, {out_plan.replicas_moved} replicas: {rate(n_out, out_moving)}); "
            f"raw reassignment of the same moves {raw_out:5.1f} s ({rate(n_out, raw_out)}); "
            f"moving phase / raw = {out_moving / max(raw_out, 1e-3):.2f}x"
        )
        print(
            f"scale-in 5->3:  PATCH -> ACTIVE {in_total:6.1f} s "
            f"(moving phase {in_moving:5.1f} s, "
            f"{n_in} partitions, {in_plan.replicas_moved} replicas: {rate(n_in, in_moving)}); "
            f"raw reassignment of the same moves {raw_in:5.1f} s ({rate(n_in, raw_in)}); "
            f"moving phase / raw = {in_moving / max(raw_in, 1e-3):.2f}x"
        )


if __name__ == "__main__":
    main()
