"""The topic reconciler on a real, migrated Postgres and a real Kafka cluster: a pass creates,
alters, grows and deletes topics as the rows say; the pass after it writes nothing to Kafka,
Kubernetes or Postgres; a recheck pass describes every topic again and writes only the check
time; an out-of-band change is reverted."""

from __future__ import annotations

from datetime import timedelta

from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    ResourceType,
)
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from app.models import ResourceStatus, Topic
from app.models.base import utcnow
from tests.integration.workers.conftest import SharedKafka, run_pass, seed_cluster
from workers.outcome import Ready
from workers.reconcilers import topics


def _topic(name: str, partitions: int, configs: dict[str, str]) -> Topic:
    return Topic(
        project_id="p",
        cluster_id="c",
        topic_id=name,
        collision_key=name,
        partition_count=partitions,
        replication_factor=1,
        configs=configs,
    )


def _kafka_topics(admin: AdminClient) -> dict[str, int]:
    listed = admin.list_topics(timeout=10).topics
    return {n: len(t.partitions) for n, t in listed.items() if not n.startswith("__")}


def _retention(admin: AdminClient, topic: str) -> str:
    resource = ConfigResource(ResourceType.TOPIC, topic)
    entries = next(iter(admin.describe_configs([resource]).values())).result(timeout=10)
    return str(entries["retention.ms"].value)


def _statuses(engine: Engine) -> dict[str, tuple[str, int, int]]:
    with Session(engine) as session:
        rows = session.execute(
            select(
                Topic.topic_id,
                ResourceStatus.state,
                ResourceStatus.observed_generation,
                ResourceStatus.version,
            ).join(ResourceStatus, ResourceStatus.resource_uid == Topic.uid)
        ).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_topics_converge_and_a_second_pass_writes_nothing(
    engine: Engine, kafka: SharedKafka
) -> None:
    admin = AdminClient(kafka.local.admin_config())
    with Session(engine) as session:
        c = seed_cluster(session, kafka)
        for t in (_topic("orders", 3, {"retention.ms": "600000"}), _topic("logs", 1, {})):
            t.cluster_uid = c.uid
            session.add(t)
        session.commit()

    first = run_pass(engine, topics.reconcile, kafka.uid)
    assert isinstance(first.outcome, Ready), first.outcome
    assert first.kafka_writes > 0 and first.postgres_xid is not None
    assert _kafka_topics(admin) == {"orders": 3, "logs": 1}
    assert _retention(admin, "orders") == "600000"
    assert _statuses(engine) == {"orders": ("ACTIVE", 1, 1), "logs": ("ACTIVE", 1, 1)}

    second = run_pass(engine, topics.reconcile, kafka.uid)
    assert isinstance(second.outcome, Ready), second.outcome
    assert (second.kafka_writes, second.kube_writes, second.postgres_xid) == (0, 0, None)

    # A recheck (every topic last checked long ago): each is described again; nothing changes
    # in Kafka, and Postgres gets only the check time (no new status version).
    with Session(engine) as session:
        session.execute(
            update(ResourceStatus)
            .where(ResourceStatus.kind == "topic")
            .values(last_checked_time=utcnow() - timedelta(hours=1))
        )
        session.commit()
    recheck = run_pass(engine, topics.reconcile, kafka.uid)
    assert isinstance(recheck.outcome, Ready) and recheck.outcome.message.startswith("0 created")
    assert recheck.kafka_writes == 0
    assert _statuses(engine) == {"orders": ("ACTIVE", 1, 1), "logs": ("ACTIVE", 1, 1)}
    assert run_pass(engine, topics.reconcile, kafka.uid).postgres_xid is None

    # A new spec: more partitions and another retention for one, deletion of the other.
    with Session(engine) as session:
        orders = session.scalars(select(Topic).where(Topic.topic_id == "orders")).one()
        orders.partition_count, orders.configs = 4, {"retention.ms": "700000"}
        orders.generation += 1
        logs = session.scalars(select(Topic).where(Topic.topic_id == "logs")).one()
        logs.delete_time = utcnow()
        session.commit()
    changed = run_pass(engine, topics.reconcile, kafka.uid)
    assert isinstance(changed.outcome, Ready), changed.outcome
    assert changed.kafka_writes > 0
    assert _kafka_topics(admin) == {"orders": 4}
    assert _retention(admin, "orders") == "700000"
    assert _statuses(engine) == {"orders": ("ACTIVE", 2, 2)}  # the row of "logs" is gone
    again = run_pass(engine, topics.reconcile, kafka.uid)
    assert (again.kafka_writes, again.kube_writes, again.postgres_xid) == (0, 0, None)


def test_an_out_of_band_change_is_reverted_then_left_alone(
    engine: Engine, kafka: SharedKafka
) -> None:
    admin = AdminClient(kafka.local.admin_config())
    # Someone changes a managed topic's retention behind kplane's back.
    resource = ConfigResource(ResourceType.TOPIC, "orders", set_config={"retention.ms": "1000"})
    next(iter(admin.alter_configs([resource]).values())).result(timeout=10)
    with Session(engine) as session:
        session.execute(
            update(ResourceStatus).values(last_checked_time=utcnow() - timedelta(hours=1))
        )
        session.commit()
    reverted = run_pass(engine, topics.reconcile, kafka.uid)
    assert reverted.kafka_writes == 1
    assert _retention(admin, "orders") == "700000"
    with Session(engine) as session:
        st = session.scalars(
            select(ResourceStatus).join(Topic, Topic.uid == ResourceStatus.resource_uid)
        ).one()
        drift = next(c for c in st.conditions if c["type"] == "Drift")
        assert drift["status"] == "True" and "retention.ms" in drift["message"]
    after = run_pass(engine, topics.reconcile, kafka.uid)
    assert (after.kafka_writes, after.kube_writes, after.postgres_xid) == (0, 0, None)
