"""Authorization on real brokers: the admin principal is a super user, everyone else is denied
until an ACL allows them (StandardAuthorizer, allow.everyone.if.no.acl.found=false)."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._acl import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
)
from confluent_kafka.admin._config import AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType
from confluent_kafka.admin._scram import (
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from confluent_kafka.cimpl import NewPartitions, NewTopic

from devstack.kafka import LocalKafkaCluster, wait_for

from .clients import create_topic, payloads, produce, produce_ok, read_all, unique

AUTH_FAILURES = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
}


def add_scram_user(
    admin: AdminClient, cluster: LocalKafkaCluster, user: str, password: str
) -> None:
    """Create a SCRAM-SHA-512 user and wait until the brokers accept its login."""
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192)
    futures = admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(user, info, password.encode())]
    )
    for f in futures.values():
        f.result()

    def can_log_in() -> bool:
        probe = AdminClient({**cluster.client_config(user, password), "log_level": "0"})
        try:
            probe.describe_cluster(request_timeout=5).result()
        except KafkaException:
            return False
        return True

    wait_for(can_log_in, 30, f"SCRAM user {user} to be able to log in")


def error_code(exc: KafkaException) -> object:
    return exc.args[0].code()


def test_admin_principal_can_do_everything(kafka_single: LocalKafkaCluster) -> None:
    admin = AdminClient(kafka_single.admin_config())
    topic = unique("admin")
    create_topic(admin, topic, partitions=1, replication=1)
    admin.create_partitions([NewPartitions(topic, 2)])[topic].result()
    resource = ConfigResource(
        ResourceType.TOPIC,
        topic,
        incremental_configs=[
            ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    admin.incremental_alter_configs([resource])[resource].result()
    acl = AclBinding(
        ResourceType.TOPIC,
        topic,
        ResourcePatternType.LITERAL,
        "User:someone",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )
    admin.create_acls([acl])[acl].result()
    listed = admin.describe_acls(
        AclBindingFilter(
            ResourceType.TOPIC,
            topic,
            ResourcePatternType.LITERAL,
            "User:someone",
            "*",
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
    ).result()
    assert listed == [acl]
    add_scram_user(admin, kafka_single, unique("user"), "a-password-1")
    produce_ok(kafka_single.admin_config(), topic, [b"a", b"b"])
    assert len(read_all(kafka_single.admin_config(), topic, partitions=2, expected=2)) == 2
    admin.delete_topics([topic], operation_timeout=30)[topic].result()


def test_scram_user_denied_without_acl_then_allowed(kafka_single: LocalKafkaCluster) -> None:
    admin = AdminClient(kafka_single.admin_config())
    topic = unique("payments")
    create_topic(admin, topic, partitions=1, replication=1)
    user, password = unique("alice"), "alice-secret-1"
    add_scram_user(admin, kafka_single, user, password)
    alice = kafka_single.client_config(user, password)

    # Authenticated, but no ACL: every write is refused as an authorization failure.
    errors = produce(alice, topic, [b"denied"], timeout=15)
    assert errors[0] is not None
    assert errors[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    with pytest.raises(AssertionError, match="AUTHORIZATION_FAILED"):
        read_all(alice, topic, partitions=1, expected=1, timeout=15)
    # Nor may she create topics: that needs CREATE on the cluster or the topic.
    other = unique("not-hers")
    alice_admin = AdminClient(alice)  # kept referenced: a collected client cancels its futures
    with pytest.raises(KafkaException) as denied:
        alice_admin.create_topics([NewTopic(other, 1, 1)])[other].result()
    assert error_code(denied.value) in AUTH_FAILURES

    principal = f"User:{user}"
    bindings = [
        AclBinding(
            ResourceType.TOPIC,
            topic,
            ResourcePatternType.LITERAL,
            principal,
            "*",
            op,
            AclPermissionType.ALLOW,
        )
        for op in (AclOperation.WRITE, AclOperation.READ, AclOperation.DESCRIBE)
    ]
    bindings.append(
        AclBinding(
            ResourceType.GROUP,
            "reader-",
            ResourcePatternType.PREFIXED,
            principal,
            "*",
            AclOperation.READ,
            AclPermissionType.ALLOW,
        )
    )
    for f in admin.create_acls(bindings).values():
        f.result()

    # ACLs reach the brokers through the metadata log: allow a moment, never a fixed sleep.
    values = [f"payment-{i}".encode() for i in range(50)]
    deadline = time.monotonic() + 30
    while True:
        errors = produce(alice, topic, values, timeout=15)
        if all(e is None for e in errors):
            break
        assert {e.code() for e in errors if e} <= AUTH_FAILURES, errors
        assert time.monotonic() < deadline, "ACLs did not take effect within 30s"
    got = read_all(alice, topic, partitions=1, expected=len(values))
    assert payloads(got) == values

    # The grant is exactly that topic: another one stays closed to her.
    closed = unique("closed")
    create_topic(admin, closed, partitions=1, replication=1)
    errors = produce(alice, closed, [b"x"], timeout=15)
    assert errors[0] is not None
    assert errors[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_wrong_password_is_an_authentication_failure(kafka_single: LocalKafkaCluster) -> None:
    seen: list[KafkaError] = []
    bad = {
        **kafka_single.client_config(kafka_single.admin_username, "wrong-password"),
        "log_level": "0",
    }
    client = AdminClient(bad, error_cb=seen.append)
    with pytest.raises(KafkaException):
        client.describe_cluster(request_timeout=5).result()
    client.poll(1)  # delivers the errors the client saw to error_cb
    assert seen, "the client reported no error"
    assert any(e.code() == KafkaError._AUTHENTICATION for e in seen), seen
    assert "invalid credentials" in next(
        e.str() for e in seen if e.code() == KafkaError._AUTHENTICATION
    )
