"""Client helpers of the broker tests: produce with delivery reports, read back with deadlines."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from devstack.kafka import ClientConfig


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(
    admin: AdminClient,
    topic: str,
    partitions: int,
    replication: int,
    config: Mapping[str, str] | None = None,
) -> None:
    futures = admin.create_topics(
        [NewTopic(topic, partitions, replication, config=dict(config or {}))],
        operation_timeout=30,
        request_timeout=30,
    )
    futures[topic].result()


def produce(
    config: ClientConfig, topic: str, values: Sequence[bytes], timeout: float = 60.0
) -> list[KafkaError | None]:
    """Produce ``values`` (acks=all, idempotent) and return each message's delivery error."""
    producer = Producer(
        {
            **config,
            "acks": "all",
            "enable.idempotence": "true",
            "message.timeout.ms": str(int(timeout * 1000)),
        }
    )
    errors: dict[int, KafkaError | None] = {}

    def report(i: int) -> Callable[[KafkaError | None, Message], None]:
        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            errors[i] = err

        return on_delivery

    for i, value in enumerate(values):
        producer.produce(topic, value=value, key=value, on_delivery=report(i))
        producer.poll(0)
    remaining = producer.flush(timeout + 10)
    assert remaining == 0, f"{remaining} messages still undelivered after {timeout + 10}s"
    return [errors[i] for i in range(len(values))]


def produce_ok(config: ClientConfig, topic: str, values: Sequence[bytes]) -> None:
    failed = [(v, e) for v, e in zip(values, produce(config, topic, values), strict=True) if e]
    assert not failed, f"{len(failed)} of {len(values)} deliveries failed, first: {failed[0]}"


def read_all(
    config: ClientConfig,
    topic: str,
    partitions: int,
    expected: int,
    timeout: float = 60.0,
) -> list[Message]:
    """Read every partition from the start until ``expected`` messages arrived, then a little
    longer to catch any duplicate; a consumer error fails the call."""
    consumer = Consumer(
        {
            **config,
            "group.id": unique("reader"),
            "enable.auto.commit": "false",
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        messages: list[Message] = []
        deadline = time.monotonic() + timeout
        settle_until: float | None = None
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                if settle_until is not None and time.monotonic() > settle_until:
                    break
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"consumer error: {err}")
            messages.append(msg)
            if len(messages) >= expected and settle_until is None:
                settle_until = time.monotonic() + 1.0
        return messages
    finally:
        consumer.close()


def values_by_partition(messages: Sequence[Message]) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {}
    for m in messages:
        value = m.value()
        assert value is not None
        partition = m.partition()
        assert partition is not None
        out.setdefault(partition, []).append(value)
    return out


def payloads(messages: Sequence[Message]) -> list[bytes]:
    """The values of ``messages`` in order (every test message has one)."""
    out = []
    for m in messages:
        value = m.value()
        assert value is not None
        out.append(value)
    return out
