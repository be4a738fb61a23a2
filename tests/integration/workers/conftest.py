"""Fixtures of the workers' integration tests: a migrated database of its own per module, and —
for the reconciler tests — one small real Kafka cluster shared by the whole package (a KRaft
controller and a broker, small JVMs: two cores), plus `run_pass`, which runs one reconcile
pass the way the task does and reports what it wrote to Kafka, Kubernetes and Postgres."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from app.core.settings import get_settings
from app.models import Cluster, Project, ResourceStatus
from devstack import kafka_dist
from devstack.kafka import LocalKafkaCluster
from devstack.postgres import LocalPostgres
from tests.conftest import migrate
from workers.adapters.kafka_admin import ConfluentAdmin
from workers.adapters.kube import Kube, Obj
from workers.builders import names
from workers.config import WorkerSettings
from workers.outcome import Outcome
from workers.reconcilers.context import Context


@pytest.fixture(scope="module")
def engine(postgres: LocalPostgres, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A synchronous engine (as the workers use) on a fresh database migrated by Alembic,
    named after the test module."""
    name = "kplane_w_" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    url = postgres.create_database(name)
    migrate(url)
    eng = create_engine(url.replace("+asyncpg", "+psycopg"))
    try:
        yield eng
    finally:
        eng.dispose()


@dataclass(frozen=True)
class SharedKafka:
    """The package's Kafka cluster and the kplane cluster uid it plays: its admin password is
    the one the workers derive from that uid."""

    local: LocalKafkaCluster
    uid: uuid.UUID

    @property
    def password(self) -> str:
        return names.admin_password(get_settings().fernet_key, self.uid)


@pytest.fixture(scope="package")
def kafka_home() -> Path:
    return kafka_dist.ensure(kafka_dist.default_version())


@pytest.fixture(scope="package")
def kafka(kafka_home: Path) -> Iterator[SharedKafka]:
    uid = uuid.uuid4()
    password = names.admin_password(get_settings().fernet_key, uid)
    with LocalKafkaCluster(
        controllers=1,
        brokers=1,
        name="workers",
        admin_username=names.ADMIN_USERNAME,
        admin_password=password,
        memory_mib=512,
        jvm_profile="small",
    ) as local:
        yield SharedKafka(local, uid)


def seed_cluster(session: Session, kafka: SharedKafka, state: str = "ACTIVE") -> Cluster:
    """The cluster row the shared Kafka cluster stands for, with the status its own
    reconciler records once ready (the topic, ACL and user passes read the address there)."""
    if session.get(Project, "p") is None:
        session.add(Project(id="p"))
        session.flush()
    c = Cluster(
        uid=kafka.uid,
        project_id="p",
        cluster_id="c",
        kafka_version=kafka.local.version,
        broker_count=1,
        controller_count=1,
        broker_resources={"cpu": 0.25, "memory_gib": 0.5},
        storage_gib=1,
    )
    session.add(c)
    session.flush()
    session.add(
        ResourceStatus(
            resource_uid=c.uid,
            kind="cluster",
            cluster_uid=c.uid,
            observed_generation=1,
            state=state,
            data={"bootstrap_servers": kafka.local.bootstrap_servers},
        )
    )
    session.commit()
    return c


class NoKube:
    """For the reconcilers that never talk to Kubernetes: any call fails the test."""

    writes = 0

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"Kubernetes called: {args}")

    def apply(self, manifests: Sequence[Obj]) -> list[str]:
        return self._refuse(manifests)  # type: ignore[no-any-return]

    def prune(self, namespace: str, selector: str, keep: Iterable[tuple[str, str]]) -> list[str]:
        return self._refuse(namespace)  # type: ignore[no-any-return]

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        return self._refuse(kind, name)  # type: ignore[no-any-return]

    def list_objects(self, kind: str, namespace: str, selector: str = "") -> list[Obj]:
        return self._refuse(kind)  # type: ignore[no-any-return]

    def delete(
        self, kind: str, name: str, namespace: str | None = None, grace_seconds: int | None = None
    ) -> bool:
        return self._refuse(kind, name)  # type: ignore[no-any-return]

    def patch_merge(self, kind: str, name: str, namespace: str, patch: Obj) -> None:
        self._refuse(kind, name)


@dataclass
class PassResult:
    """One reconcile pass: its outcome, what it wrote, and what it asked for."""

    outcome: Outcome
    kafka_writes: int
    kube_writes: int
    # The pass's transaction id, None when its transaction wrote no row at all.
    postgres_xid: int | None
    enqueued: list[tuple[str, str]] = field(default_factory=list)


def run_pass(
    engine: Engine,
    reconciler: Callable[[Context, uuid.UUID], Outcome],
    cluster_uid: uuid.UUID,
    *,
    kube: Kube | None = None,
    settings: WorkerSettings | None = None,
    **context: Any,
) -> PassResult:
    """One pass as `workers.tasks.reconcile.run` runs it (a session, the real adapters, one
    commit), counting its writes: Kafka through the real Admin clients' counters, Kubernetes
    through the Kube's, Postgres through the transaction: one that writes a row is given a
    transaction id (txid_current_if_assigned), one that only reads is not."""
    admins: list[ConfluentAdmin] = []

    def admin(bootstrap: str, password: str) -> ConfluentAdmin:
        client = ConfluentAdmin(bootstrap, names.ADMIN_USERNAME, password)
        admins.append(client)
        return client

    used_kube: Any = kube if kube is not None else NoKube()
    before = int(getattr(used_kube, "writes", 0))
    enqueued: list[tuple[str, str]] = []
    with Session(engine) as session:
        ctx = Context(
            session=session,
            kube=used_kube,
            admin=admin,
            settings=settings or WorkerSettings(jvm_profile="small", controller_memory_mib=512),
            reconcile_id="test",
            enqueue=lambda task, c: enqueued.append((task, c)),
            secret_key=get_settings().fernet_key,
            log=logging.LoggerAdapter(logging.getLogger("test"), {}),
            **context,
        )
        outcome = reconciler(ctx, cluster_uid)
        session.flush()
        xid = session.execute(text("SELECT txid_current_if_assigned()")).scalar()
        session.commit()
    for a in admins:
        a.close()
    return PassResult(
        outcome,
        sum(a.writes for a in admins),
        int(getattr(used_kube, "writes", 0)) - before,
        None if xid is None else int(xid),
        enqueued,
    )
