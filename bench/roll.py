"""A kplane rolling restart, per broker, beside a raw broker restart — measured in one run.

* raw: on a local 3+3 cluster of the same Kafka version, one broker stopped gracefully and
  started again until it is back in the ISR of a replicated topic (bench.broker_start's rolling
  step; stop + start → in ISR);
* kplane: a 3+3 cluster created through the API, an RF=3 topic (min.insync.replicas=2) under
  acks=all load, then a broker setting that needs a restart: per broker, the time from the pod's
  deletion to the new pod Ready and the broker back in every ISR; and the produce p99 latency
  during the roll as a ratio to the p99 before it.

Run ``make bench-roll`` (or ``python -m bench.roll --repeat 3``).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from app.core.secrets import ADMIN_USERNAME
from bench.broker_start import broker_restarts
from bench.workers_stack import SMALL, BenchStack, bench_stack
from workers.adapters.kafka_admin import confluent_config
from workers.builders import names

VERSION = "4.3.1"
TOPIC = "bench-roll"
BROKER_PODS = [f"{names.BROKERS}-{i}" for i in range(3)]


class LatencyLoad:
    """acks=all idempotent writes at a steady pace; (send time, latency) of each delivery."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.producer = Producer(
            {**config, "acks": "all", "enable.idempotence": True, "linger.ms": 1}
        )
        self.samples: list[tuple[float, float]] = []
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            sent = time.monotonic()

            def report(err: KafkaError | None, _msg: Message, sent: float = sent) -> None:
                if err is not None:
                    self.failed += 1
                else:
                    self.samples.append((sent, time.monotonic() - sent))

            self.producer.produce(TOPIC, value=b"x" * 200, on_delivery=report)
            self.producer.poll(0.01)  # pacing: about 100 messages/s

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.producer.flush(120)

    def p99(self, start: float, end: float) -> float:
        window = sorted(lat for sent, lat in self.samples if start <= sent < end)
        return window[int(0.99 * (len(window) - 1))] if window else float("nan")


def _pods(stack: BenchStack, namespace: str) -> dict[str, dict[str, Any]]:
    found = stack.substrate.rest().get(f"/api/v1/namespaces/{namespace}/pods")
    return {p["metadata"]["name"]: p for p in found.get("items", [])}


def _ready(pod: dict[str, Any] | None) -> bool:
    return pod is not None and any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in pod.get("status", {}).get("conditions", [])
    )


def _in_every_isr(admin: AdminClient, node_id: int) -> bool:
    try:
        topic = admin.list_topics(TOPIC, timeout=5).topics[TOPIC]
    except Exception:
        return False
    return all(node_id in p.isrs for p in topic.partitions.values())


def kplane_roll(stack: BenchStack) -> tuple[list[float], float, float, int]:
    """(per-broker deletion → back in every ISR, p99 before, p99 during, failed sends)."""
    stack.ok("POST", "/v1/projects", params={"project_id": "bench"}, json={})
    path = "/v1/projects/bench/clusters/roll"
    op = stack.ok(
        "POST",
        "/v1/projects/bench/clusters",
        params={"cluster_id": "roll"},
        json={
            "kafka_version": VERSION,
            "broker_count": 3,
            "controller_count": 3,
            "broker_resources": SMALL,
            "storage_gib": 1,
        },
    )
    stack.wait_op(op, timeout=300)
    body = stack.ok("GET", path)
    namespace = names.namespace_of(body["uid"])
    secret = stack.substrate.rest().get(f"/api/v1/namespaces/{namespace}/secrets/{names.SECRET}")
    config = confluent_config(
        body["bootstrap_servers"], ADMIN_USERNAME, names.admin_password_in(secret)
    )
    admin = AdminClient(config)
    admin.create_topics([NewTopic(TOPIC, 6, 3, config={"min.insync.replicas": "2"})])[
        TOPIC
    ].result()
    load = LatencyLoad(config)
    before_start = time.monotonic()
    time.sleep(20)  # the steady-state latency sample before the roll
    roll_start = time.monotonic()
    op = stack.ok("PATCH", path, json={"config": {"offsets.retention.minutes": "10081"}})
    original = {name: pod["metadata"]["uid"] for name, pod in _pods(stack, namespace).items()}
    deleted: dict[str, float] = {}
    back: dict[str, float] = {}
    deadline = time.monotonic() + 900
    while len(back) < len(BROKER_PODS) and time.monotonic() < deadline:
        pods = _pods(stack, namespace)
        now = time.monotonic()
        for i, name in enumerate(BROKER_PODS):
            pod = pods.get(name)
            gone = pod is None or pod["metadata"].get("deletionTimestamp")
            replaced = pod is not None and pod["metadata"]["uid"] != original.get(name)
            if name not in deleted and (gone or replaced):
                deleted[name] = now
            if (
                name in deleted
                and name not in back
                and replaced
                and _ready(pod)
                and _in_every_isr(admin, names.BROKER_ID_OFFSET + i)
            ):
                back[name] = now
        time.sleep(0.2)  # polling interval of the observer
    stack.wait_op(op, timeout=300)
    roll_end = time.monotonic()
    load.stop()
    per_broker = [back[n] - deleted[n] for n in BROKER_PODS if n in back]
    return (
        per_broker,
        load.p99(before_start, roll_start),
        load.p99(roll_start, roll_end),
        load.failed,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="raw broker restarts")
    args = parser.parse_args()
    stops, _, in_sync = broker_restarts(args.repeat, VERSION)
    raw = [s + i for s, i in zip(stops, in_sync, strict=True)]
    with bench_stack() as stack:
        per_broker, p99_before, p99_during, failed = kplane_roll(stack)
    r, k = statistics.median(raw), statistics.median(per_broker)
    print(f"raw broker restart -> back in ISR (median of {len(raw)}): {r:6.1f} s  {raw}")
    print(f"kplane roll, per broker (median of {len(per_broker)}):   {k:6.1f} s  {per_broker}")
    print(f"ratio kplane / raw: {k / r:.2f}x   (goal <= 1.5x and <= 60 s per broker)")
    print(
        f"produce p99 before the roll {p99_before * 1000:.0f} ms, during it "
        f"{p99_during * 1000:.0f} ms: {p99_during / p99_before:.2f}x; failed sends: {failed}"
    )


if __name__ == "__main__":
    main()
