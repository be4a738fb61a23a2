"""The ACL reconciler on a real, migrated Postgres and a real Kafka cluster: the brokers end
up with exactly the bindings the rows name, on the patterns kplane manages (a binding of
anyone else's stays); the pass after it writes nothing to Kafka, Kubernetes or Postgres."""

from __future__ import annotations

from typing import Any

from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.models import Acl, ResourceStatus
from app.models.base import utcnow
from devstack.kafka import wait_for
from tests.integration.workers.conftest import SharedKafka, run_pass, seed_cluster
from workers.outcome import Ready
from workers.reconcilers import acls

Seen = set[tuple[str, str, str, str, str]]


def _acl(acl_id: str, resource_type: str, pattern: str, name: str, ops: list[str]) -> Acl:
    return Acl(
        project_id="p",
        cluster_id="c",
        acl_id=acl_id,
        resource_type=resource_type,
        pattern_type=pattern,
        resource_name=name,
        acl_entries=[{"principal": "User:bob", "operation": o} for o in ops],
    )


def _bindings(admin: AdminClient) -> Seen:
    match_all = AclBindingFilter(
        ResourceType.ANY,
        None,  # type: ignore[arg-type]
        ResourcePatternType.ANY,
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    found: list[Any] = admin.describe_acls(match_all).result(timeout=10)
    return {
        (b.restype.name, b.name, b.resource_pattern_type.name, b.principal, b.operation.name)
        for b in found
    }


def _wait_bindings(admin: AdminClient, want: Seen) -> None:
    """The brokers serve ACLs from the metadata log: a change shows a moment after the write."""
    wait_for(lambda: _bindings(admin) == want, 20, f"the brokers to show {sorted(want)}")


def test_bindings_converge_and_a_second_pass_writes_nothing(
    engine: Engine, kafka: SharedKafka
) -> None:
    admin = AdminClient(kafka.local.admin_config())
    # A binding kplane does not manage (no row names its pattern).
    theirs = AclBinding(
        ResourceType.TOPIC,
        "not-managed",
        ResourcePatternType.LITERAL,
        "User:eve",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )
    admin.create_acls([theirs])[theirs].result(timeout=10)
    _wait_bindings(admin, {("TOPIC", "not-managed", "LITERAL", "User:eve", "READ")})
    with Session(engine) as session:
        c = seed_cluster(session, kafka)
        for a in (
            _acl("topic/orders", "TOPIC", "LITERAL", "orders", ["READ", "WRITE"]),
            _acl("consumerGroupPrefixed/bob-", "GROUP", "PREFIXED", "bob-", ["READ"]),
        ):
            a.cluster_uid = c.uid
            session.add(a)
        session.commit()
    unmanaged = ("TOPIC", "not-managed", "LITERAL", "User:eve", "READ")

    first = run_pass(engine, acls.reconcile, kafka.uid)
    assert isinstance(first.outcome, Ready), first.outcome
    assert first.kafka_writes > 0 and first.postgres_xid is not None
    _wait_bindings(
        admin,
        {
            ("TOPIC", "orders", "LITERAL", "User:bob", "READ"),
            ("TOPIC", "orders", "LITERAL", "User:bob", "WRITE"),
            ("GROUP", "bob-", "PREFIXED", "User:bob", "READ"),
            unmanaged,
        },
    )
    with Session(engine) as session:
        states = set(
            session.scalars(select(ResourceStatus.state).where(ResourceStatus.kind == "acl"))
        )
    assert states == {"ACTIVE"}

    second = run_pass(engine, acls.reconcile, kafka.uid)
    assert isinstance(second.outcome, Ready), second.outcome
    assert (second.kafka_writes, second.kube_writes, second.postgres_xid) == (0, 0, None)

    # One entry removed from one ACL, the other ACL deleted.
    with Session(engine) as session:
        orders = session.scalars(select(Acl).where(Acl.resource_name == "orders")).one()
        orders.acl_entries = [{"principal": "User:bob", "operation": "READ"}]
        orders.generation += 1
        group = session.scalars(select(Acl).where(Acl.resource_name == "bob-")).one()
        group.delete_time = utcnow()
        session.commit()
    changed = run_pass(engine, acls.reconcile, kafka.uid)
    assert isinstance(changed.outcome, Ready), changed.outcome
    assert changed.kafka_writes > 0
    _wait_bindings(admin, {("TOPIC", "orders", "LITERAL", "User:bob", "READ"), unmanaged})
    with Session(engine) as session:
        assert [a.resource_name for a in session.scalars(select(Acl))] == ["orders"]
    again = run_pass(engine, acls.reconcile, kafka.uid)
    assert (again.kafka_writes, again.kube_writes, again.postgres_xid) == (0, 0, None)
