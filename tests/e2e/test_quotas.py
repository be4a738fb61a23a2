"""A user's `quotas` reach the brokers as client quotas of its user entity: a producer of that
user is throttled, clearing the quotas removes them, and quotas of users kplane does not manage
stay as they are."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from confluent_kafka import Producer

from app.core.secrets import ADMIN_USERNAME
from tests.e2e.conftest import Cluster, Stack, wait_for
from workers.adapters.client_quotas import KafkaPythonQuotas
from workers.builders import names


@pytest.fixture
def quotas(stack: Stack, kafka: Cluster) -> Iterator[KafkaPythonQuotas]:
    """The brokers' client quotas, read as the control plane's own principal."""
    uid = stack.ok("GET", kafka.path)["uid"]
    secret = stack.substrate.rest().get(f"/api/v1/namespaces/kplane-{uid}/secrets/{names.SECRET}")
    password = names.admin_password_in(secret)
    client = KafkaPythonQuotas(kafka.body["bootstrap_servers"], ADMIN_USERNAME, password, 10)
    try:
        yield client
    finally:
        client.close()


def _max_produce_throttle_ms(config: dict[str, str | int | float | bool], topic: str) -> float:
    """Produce 20 KiB and return the largest broker throttle time the producer reported.

    Kafka measures a byte rate over a window of at least ten seconds, so 20 KiB at once is
    about twice a 1 KiB/s quota: the broker answers with a throttle time of a few seconds."""
    throttles: list[float] = [0.0]

    def stats(raw: str) -> None:
        for broker in json.loads(raw).get("brokers", {}).values():
            throttles.append(float(broker.get("throttle", {}).get("max", 0)))

    producer = Producer(
        {**config, "acks": "1", "statistics.interval.ms": 200, "stats_cb": stats, "linger.ms": 0}
    )
    for _ in range(20):
        producer.produce(topic, b"x" * 1024)
    assert producer.flush(30) == 0, "messages left unsent"

    def throttled() -> bool:
        producer.poll(0.2)
        return max(throttles) > 0

    wait_for(throttled, 10, "a produce throttle time in the producer's statistics")
    return max(throttles)


def test_quotas_are_pushed_throttle_and_are_removed(
    stack: Stack, kafka: Cluster, quotas: KafkaPythonQuotas
) -> None:
    p = kafka.path
    # A quota set by hand on a user kplane does not manage: never touched.
    assert quotas.alter_user_quotas({"not-kplane": {"consumer_byte_rate": 5000.0}}) == {}
    stack.wait_op(
        stack.ok(
            "POST",
            f"{p}/users",
            params={"user_id": "slow"},
            json={
                "password": "slow-secret-pw-1",
                "quotas": {"producer_byte_rate": 1024, "request_percentage": 200.0},
            },
        )
    )
    on_brokers = quotas.user_quotas()
    assert on_brokers["slow"] == {"producer_byte_rate": 1024.0, "request_percentage": 200.0}

    stack.wait_op(stack.ok("POST", f"{p}/topics", params={"topic_id": "throttled"}, json={}))
    stack.wait_op(
        stack.ok(
            "POST",
            f"{p}/acls",
            params={"acl_id": "topic/throttled"},
            json={"acl_entries": [{"principal": "User:slow", "operation": "WRITE"}]},
        )
    )
    throttle = _max_produce_throttle_ms(
        kafka.client_config("slow", "slow-secret-pw-1"), "throttled"
    )
    assert throttle > 0, "a producer over its byte-rate quota was not throttled"

    stack.wait_op(stack.ok("PATCH", f"{p}/users/slow", json={"quotas": {}}))
    on_brokers = quotas.user_quotas()
    assert "slow" not in on_brokers
    assert on_brokers["not-kplane"] == {"consumer_byte_rate": 5000.0}

    stack.wait_op(
        stack.ok("PATCH", f"{p}/users/slow", json={"quotas": {"consumer_byte_rate": 4096}})
    )
    assert quotas.user_quotas()["slow"] == {"consumer_byte_rate": 4096.0}
    stack.wait_op(stack.ok("DELETE", f"{p}/users/slow"))
    on_brokers = quotas.user_quotas()
    assert "slow" not in on_brokers
    assert on_brokers["not-kplane"] == {"consumer_byte_rate": 5000.0}
    quotas.alter_user_quotas({"not-kplane": {"consumer_byte_rate": None}})
