"""How fast a real Kafka node comes up here: the floor cluster provisioning is measured against.

Measured side by side in one run, each several times (median, min, max):

* ``java -version`` — a bare JVM start, the unit every other figure is divided by;
* one combined controller+broker node, process start (``broker/entrypoint``, storage format
  included) → broker registered and serving, with the ``small`` JVM profile the tests use and the
  ``server`` profile (G1, full JIT) the image defaults to;
* three controllers + three brokers started together → every broker registered;
* both again with a JVM class-data-sharing (AppCDS) archive of Kafka's classes (trained once,
  timed once: a cached archive makes that row ~0);
* a rolling step on that 3+3 cluster: one broker stopped gracefully, started again, and back in
  the ISR of a replicated topic (what a later issue's roller is compared against).

Run ``make bench-broker`` (or ``python -m bench.broker_start --repeat 5``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from devstack import kafka_dist
from devstack.kafka import LocalKafkaCluster, ensure_cds_archive


def timed(action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def java_version() -> None:
    subprocess.run(["java", "-version"], capture_output=True, check=True)


def cluster_start(
    controllers: int, brokers: int, profile: str, version: str, cds: bool = False
) -> float:
    cluster = LocalKafkaCluster(
        controllers=controllers, brokers=brokers, jvm_profile=profile, version=version, cds=cds
    )
    try:
        return timed(cluster.start)
    finally:
        cluster.close()


def broker_restarts(repeat: int, version: str) -> tuple[list[float], list[float], list[float]]:
    """(graceful stop, start → registered, start → back in ISR) of one broker, ``repeat`` times."""
    stops, registered, in_sync = [], [], []
    with LocalKafkaCluster(controllers=3, brokers=3, version=version) as cluster:
        admin = AdminClient(cluster.admin_config())
        topic = "bench-restart"
        config = {"min.insync.replicas": "2"}
        admin.create_topics([NewTopic(topic, 6, 3, config=config)])[topic].result()
        producer = Producer({**cluster.admin_config(), "acks": "all"})
        for i in range(20_000):
            producer.produce(topic, value=b"x" * 200, key=str(i).encode())
            producer.poll(0)
        producer.flush(60)
        for i in range(repeat):
            victim = cluster.brokers[i % len(cluster.brokers)].node_id
            stops.append(timed(partial(cluster.stop_node, victim)))
            started = time.monotonic()
            cluster.start_node(victim)
            registered.append(time.monotonic() - started)
            cluster.wait_in_sync(victim, [topic])
            in_sync.append(time.monotonic() - started)
    return stops, registered, in_sync


def row(label: str, samples: list[float], unit: float) -> str:
    med = statistics.median(samples)
    return (
        f"  {label:<46} {med:7.2f} s  (min {min(samples):6.2f}, max {max(samples):6.2f})"
        f"  {med / unit:6.1f}x java -version"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--version", default=kafka_dist.default_version())
    args = parser.parse_args()
    kafka_dist.ensure(args.version)
    java_version()  # warm the page cache for the JVM itself

    results: list[tuple[str, list[float]]] = []
    jvm = [timed(java_version) for _ in range(max(5, args.repeat))]
    results.append(("java -version (bare JVM start)", jvm))
    one_small = [cluster_start(0, 1, "small", args.version) for _ in range(args.repeat)]
    results.append(("1 node, start -> ready (small JVM profile)", one_small))
    one_server = [cluster_start(0, 1, "server", args.version) for _ in range(args.repeat)]
    results.append(("1 node, start -> ready (server JVM profile)", one_server))
    six = [cluster_start(3, 3, "small", args.version) for _ in range(args.repeat)]
    results.append(("3 controllers + 3 brokers together -> ready", six))
    trained = [timed(lambda: ensure_cds_archive(args.version))]
    results.append(("AppCDS archive (once per version and JVM)", trained))
    one_cds = [cluster_start(0, 1, "small", args.version, cds=True) for _ in range(args.repeat)]
    results.append(("1 node -> ready, with the AppCDS archive", one_cds))
    six_cds = [cluster_start(3, 3, "small", args.version, cds=True) for _ in range(args.repeat)]
    results.append(("3 + 3 together -> ready, with the AppCDS archive", six_cds))
    stops, registered, in_sync = broker_restarts(args.repeat, args.version)
    results.append(("broker restart: graceful stop", stops))
    results.append(("broker restart: start -> registered", registered))
    results.append(("broker restart: start -> back in ISR", in_sync))

    unit = statistics.median(jvm)
    print(f"Kafka {args.version} on this machine, {args.repeat} runs each (median):")
    for label, samples in results:
        print(row(label, samples, unit))
    med = statistics.median
    print(
        f"  3+3 vs 1 node: {med(six) / med(one_small):.2f}x; "
        f"server vs small profile: {med(one_server) / med(one_small):.2f}x; "
        f"with vs without AppCDS: 1 node {med(one_cds) / med(one_small):.2f}x, "
        f"3+3 {med(six_cds) / med(six):.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
