"""Provisioning: POST a cluster → ACTIVE for 3 controllers + 3 brokers, beside the raw broker
start of the same node count (devstack.kafka: six entrypoint processes started together →
every broker registered), measured in one run. Goal: at most 2x the raw start and ≤ 60 s.

Run ``make bench-provision`` (or ``python -m bench.provision --repeat 2``).
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.workers_stack import bench_stack
from devstack.kafka import LocalKafkaCluster


def raw_start() -> float:
    started = time.monotonic()
    with LocalKafkaCluster(controllers=3, brokers=3, memory_mib=512, jvm_profile="small"):
        return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    raw = [raw_start() for _ in range(args.repeat)]
    kplane: list[float] = []
    with bench_stack() as stack:
        stack.ok("POST", "/v1/projects", params={"project_id": "bench"}, json={})
        for i in range(args.repeat):
            kplane.append(stack.create_cluster("bench", f"c{i}"))
            # One cluster at a time: six JVMs are what two cores hold.
            op = stack.ok("DELETE", f"/v1/projects/bench/clusters/c{i}")
            stack.wait_op(op, timeout=300)
    r, k = statistics.median(raw), statistics.median(kplane)
    print(f"raw 3+3 broker start (median of {args.repeat}): {r:6.1f} s  {raw}")
    print(f"kplane POST -> ACTIVE (median of {args.repeat}): {k:6.1f} s  {kplane}")
    print(f"ratio kplane / raw: {k / r:.2f}x   (goal <= 2x and <= 60 s)")


if __name__ == "__main__":
    main()
