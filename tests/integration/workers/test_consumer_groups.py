"""The consumer group worker (workers/reconcilers/consumer_groups.py) on a real Postgres and the
package's real Kafka cluster: a reset whose pass died right after its write is not applied a
second time (the saved table is written again, a shift is not shifted twice); a group that
gained a member after the request is refused at apply time; a deletion whose group is already
gone succeeds; the lag sampler writes a row per group and drops the rows past the retention."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import timedelta

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.consumer_groups.views import Partition, ResetSpec, target_uid
from app.core.secrets import ADMIN_USERNAME
from app.core.settings import get_settings
from app.models import ConsumerGroupAction, ConsumerGroupLagSample, Operation
from app.models.base import utcnow
from devstack.pytest_plugin import wait_until
from tests.integration.workers.conftest import SharedKafka, seed_cluster
from workers.adapters.consumer_groups import ConfluentGroupAdmin, GroupAdmin
from workers.outcome import Ready, TransientError
from workers.reconcilers import consumer_groups

TOPIC = "cgw"


@pytest.fixture(scope="module")
def cluster_uid(engine: Engine, kafka: SharedKafka) -> uuid.UUID:
    with Session(engine) as session:
        seed_cluster(session, kafka)
    config = kafka.local.client_config(ADMIN_USERNAME, kafka.password)
    client = AdminClient(config)  # held: a client collected early fails its futures
    for future in client.create_topics([NewTopic(TOPIC, 2, 1)]).values():
        future.result(timeout=60)
    producer = Producer(config)
    for partition in (0, 1):
        for i in range(10):
            producer.produce(TOPIC, b"%d" % i, partition=partition)
    assert producer.flush(30) == 0
    return kafka.uid


@pytest.fixture(scope="module")
def admin(kafka: SharedKafka, cluster_uid: uuid.UUID) -> ConfluentGroupAdmin:
    return ConfluentGroupAdmin(kafka.local.bootstrap_servers, ADMIN_USERNAME, kafka.password, 10.0)


def commit(admin: ConfluentGroupAdmin, group: str, offsets: Mapping[int, int]) -> None:
    """Commit offsets for an EMPTY group (again while the coordinator is still loading)."""

    def committed() -> bool:
        try:
            admin.alter(group, {Partition(TOPIC, p): o for p, o in offsets.items()})
        except TransientError:
            return False
        return True

    wait_until(committed, 60, f"offsets committed for {group}")


def request(
    engine: Engine, cluster_uid: uuid.UUID, group: str, verb: str, spec: ResetSpec | None
) -> uuid.UUID:
    """What the API writes for a reset or deletion: the Operation and the action row."""
    with Session(engine) as session:
        op = Operation(
            project_id="p",
            operation_id=f"op-{uuid.uuid4().hex[:12]}",
            verb=verb,
            kind="consumer_group",
            target=f"projects/p/clusters/c/consumer_groups/{group}",
            target_uid=target_uid(cluster_uid, group),
            cluster_uid=cluster_uid,
            target_generation=0,
        )
        session.add(op)
        session.flush()
        session.add(
            ConsumerGroupAction(
                operation_uid=op.uid,
                cluster_uid=cluster_uid,
                project_id="p",
                cluster_id="c",
                group_id=group,
                verb=verb,
                spec=spec.to_json() if spec is not None else {},
            )
        )
        session.commit()
        return op.uid


def run(engine: Engine, cluster_uid: uuid.UUID, admin: GroupAdmin) -> object:
    with Session(engine) as session:
        return consumer_groups.apply(
            session, lambda _b, _p: admin, get_settings().credential_key, cluster_uid, "test"
        )


def operation(engine: Engine, uid: uuid.UUID) -> Operation:
    with Session(engine) as session:
        op = session.get(Operation, uid)
        assert op is not None
        return op


class DiesAfterWrite(ConfluentGroupAdmin):
    """The real client, whose process 'dies' right after the offsets are written."""

    def alter(self, group: str, offsets: Mapping[Partition, int]) -> None:
        super().alter(group, offsets)
        raise SystemExit("the worker died")


def test_a_pass_that_died_after_its_write_does_not_shift_twice(
    engine: Engine, kafka: SharedKafka, cluster_uid: uuid.UUID, admin: ConfluentGroupAdmin
) -> None:
    commit(admin, "w-shift", {0: 5, 1: 6})
    op_uid = request(engine, cluster_uid, "w-shift", "resetOffsets", ResetSpec(shift_by=-2))
    dying = DiesAfterWrite(kafka.local.bootstrap_servers, ADMIN_USERNAME, kafka.password, 10)
    with pytest.raises(SystemExit):
        run(engine, cluster_uid, dying)
    assert admin.committed("w-shift") == {Partition(TOPIC, 0): 3, Partition(TOPIC, 1): 4}
    assert operation(engine, op_uid).done is False
    assert isinstance(run(engine, cluster_uid, admin), Ready)
    assert admin.committed("w-shift") == {Partition(TOPIC, 0): 3, Partition(TOPIC, 1): 4}
    op = operation(engine, op_uid)
    assert op.done and op.error is None and op.response is not None
    assert [(o["before"], o["after"]) for o in op.response["offsets"]] == [(5, 3), (6, 4)]
    with Session(engine) as session:
        assert session.scalars(select(ConsumerGroupAction)).all() == []


@pytest.fixture
def member(kafka: SharedKafka) -> Iterator[Consumer]:
    config = kafka.local.client_config(ADMIN_USERNAME, kafka.password)
    consumer = Consumer({**config, "group.id": "w-live", "enable.auto.commit": False})
    consumer.subscribe([TOPIC])
    try:
        yield consumer
    finally:
        consumer.close()


def test_a_group_that_gained_a_member_is_refused_when_applied(
    engine: Engine, cluster_uid: uuid.UUID, admin: ConfluentGroupAdmin, member: Consumer
) -> None:
    commit(admin, "w-live", {0: 2, 1: 2})
    op_uid = request(engine, cluster_uid, "w-live", "resetOffsets", ResetSpec(to_earliest=True))

    def joined() -> bool:
        member.poll(0.2)
        return admin.state("w-live") == "STABLE"

    wait_until(joined, 60, "the member joined")
    assert isinstance(run(engine, cluster_uid, admin), Ready)
    op = operation(engine, op_uid)
    assert op.done and op.error is not None
    assert op.error["status"] == "FAILED_PRECONDITION"
    assert op.error["details"][0]["reason"] == "GROUP_NOT_EMPTY"
    assert admin.committed("w-live") == {Partition(TOPIC, 0): 2, Partition(TOPIC, 1): 2}


def test_deleting_a_group_that_is_gone_already_succeeds(
    engine: Engine, cluster_uid: uuid.UUID, admin: ConfluentGroupAdmin
) -> None:
    commit(admin, "w-gone", {0: 1})
    first = request(engine, cluster_uid, "w-gone", "delete", None)
    assert isinstance(run(engine, cluster_uid, admin), Ready)
    assert admin.state("w-gone") is None
    second = request(engine, cluster_uid, "w-gone", "delete", None)
    assert isinstance(run(engine, cluster_uid, admin), Ready)
    for uid in (first, second):
        op = operation(engine, uid)
        assert op.done and op.error is None, op.error


def test_the_sampler_writes_each_groups_lag_and_keeps_the_table_bounded(
    engine: Engine, cluster_uid: uuid.UUID, admin: ConfluentGroupAdmin
) -> None:
    commit(admin, "w-lag", {0: 4, 1: 10})
    now = utcnow()
    with Session(engine) as session:
        session.add(
            ConsumerGroupLagSample(
                cluster_uid=cluster_uid,
                group_id="w-lag",
                time=now - timedelta(hours=25),
                total_lag=1,
                max_lag=1,
            )
        )
        session.commit()
        written = consumer_groups.sample_lag(
            session, lambda _b, _p: admin, get_settings().credential_key, timedelta(hours=24), now
        )
        assert written >= 1
        rows = session.scalars(
            select(ConsumerGroupLagSample).where(ConsumerGroupLagSample.group_id == "w-lag")
        ).all()
    assert [(r.time, r.total_lag, r.max_lag) for r in rows] == [(now, 6, 6)]
