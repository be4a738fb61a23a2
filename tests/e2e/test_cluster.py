"""A cluster created through the REST API becomes a real Kafka cluster on the devstack that a
Kafka client uses with a kplane-created user; ACLs decide what that user may do."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    ResourceType,
)

from tests.e2e.conftest import Cluster, Stack, wait_for


def test_cluster_is_active_and_ready(stack: Stack, kafka: Cluster) -> None:
    body = stack.ok("GET", kafka.path)
    assert body["state"] == "ACTIVE"
    assert body["reconciling"] is False
    ready = {c["type"]: c for c in body["conditions"]}
    assert ready["Ready"]["status"] == "True"
    assert ready["BrokersReady"]["status"] == "True"
    assert ready["ControllersReady"]["status"] == "True"
    assert sorted(b["node_id"] for b in body["brokers"]) == [100, 101, 102]
    assert all(b["ready"] for b in body["brokers"])
    assert body["running_kafka_version"] == body["kafka_version"]
    assert len(body["bootstrap_servers"].split(",")) == 3


def _produce(config: dict[str, str | int | float | bool], topic: str, values: list[bytes]) -> None:
    producer = Producer({**config, "acks": "all", "message.timeout.ms": 15000})
    errors: list[KafkaError] = []
    for value in values:
        producer.produce(
            topic, value, on_delivery=lambda err, _m: errors.append(err) if err else None
        )
    producer.flush(20)
    if errors:
        raise KafkaException(errors[0])


def test_user_with_acl_produces_and_consumes_without_it_is_denied(
    stack: Stack, kafka: Cluster
) -> None:
    p = kafka.path
    alice = stack.ok(
        "POST", f"{p}/users", params={"user_id": "bob"}, json={"password": "bob-secret-pw-1"}
    )
    stack.wait_op(alice)
    mallory = stack.ok(
        "POST", f"{p}/users", params={"user_id": "mallory"}, json={"password": "mallory-pw-123"}
    )
    stack.wait_op(mallory)
    topic = stack.ok(
        "POST",
        f"{p}/topics",
        params={"topic_id": "orders"},
        json={"partition_count": 3, "replication_factor": 3},
    )
    stack.wait_op(topic)
    for acl_id, ops in (
        ("topic/orders", ["READ", "WRITE", "DESCRIBE"]),
        ("consumerGroupPrefixed/bob-", ["READ"]),
    ):
        op = stack.ok(
            "POST",
            f"{p}/acls",
            params={"acl_id": acl_id},
            json={"acl_entries": [{"principal": "User:bob", "operation": o} for o in ops]},
        )
        stack.wait_op(op)

    bob = kafka.client_config("bob", "bob-secret-pw-1")
    values = [f"order-{i}".encode() for i in range(5)]
    _produce(bob, "orders", values)

    consumer = Consumer(
        {**bob, "group.id": f"bob-{uuid.uuid4().hex[:6]}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe(["orders"])
    seen: list[bytes] = []

    def poll() -> bool:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            seen.append(msg.value() or b"")
        return sorted(seen) == sorted(values)

    try:
        wait_for(poll, 60, "bob to consume what he produced", interval=0)
    finally:
        consumer.close()

    with pytest.raises(KafkaException) as denied:
        _produce(kafka.client_config("mallory", "mallory-pw-123"), "orders", [b"x"])
    assert denied.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_dynamic_broker_setting_applies_through_the_admin_api(
    stack: Stack, kafka: Cluster, admin: AdminClient
) -> None:
    stack.wait_op(stack.ok("PATCH", kafka.path, json={"config": {"log.retention.ms": "3600000"}}))
    resource = ConfigResource(ResourceType.BROKER, "101")
    entries = next(iter(admin.describe_configs([resource]).values())).result(timeout=10)
    assert entries["log.retention.ms"].value == "3600000"
    # Removing it from the spec removes the override again.
    stack.wait_op(
        stack.ok("PATCH", kafka.path, json={"config": {}}, params={"update_mask": "config"})
    )
    entries = next(iter(admin.describe_configs([resource]).values())).result(timeout=10)
    assert entries["log.retention.ms"].value != "3600000"


def test_storage_grows_in_place(stack: Stack, kafka: Cluster) -> None:
    """storage_gib grows the brokers' claims (the StatefulSet template keeps its first size)."""
    uid = stack.ok("GET", kafka.path)["uid"]
    stack.wait_op(stack.ok("PATCH", kafka.path, json={"storage_gib": 2}))
    rest = stack.substrate.rest()
    claims = rest.get(f"/api/v1/namespaces/kplane-{uid}/persistentvolumeclaims")["items"]
    brokers = [c for c in claims if c["metadata"]["name"].startswith("data-kafka-broker-")]
    assert len(brokers) == 3
    assert {c["spec"]["resources"]["requests"]["storage"] for c in brokers} == {"2Gi"}
    sts = rest.get(f"/apis/apps/v1/namespaces/kplane-{uid}/statefulsets/kafka-broker")
    template = sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]
    assert template["storage"] == "1Gi"
    assert stack.ok("GET", kafka.path)["state"] == "ACTIVE"
