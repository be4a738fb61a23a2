"""Fixtures of the workers' integration tests: a migrated database of its own per module, and —
for the reconciler tests — one small real Kafka cluster per module (a KRaft controller and a
broker, small JVMs: two cores), plus `run_pass`, which runs one reconcile
pass the way the task does and reports what it wrote to Kafka, Kubernetes and Postgres.

The cluster reconciler and the roller also get the real Kubernetes control plane (etcd,
kube-apiserver, kube-controller-manager: `substrate`), started only for them. Their pods are
the one thing not left to it: a quota of 0 pods keeps the pod runner from starting the brokers
the StatefulSets describe (two cores cannot run a second Kafka cluster), and `NodesKube` shows
the shared Kafka cluster's processes as those pods instead — see its docstring."""

from __future__ import annotations

import itertools
import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

from app.core.secrets import ADMIN_USERNAME, admin_password
from app.core.settings import get_settings
from app.models import Cluster, Operation, Project, ResourceStatus
from devstack import kafka_dist
from devstack.kafka import CLIENT_PORT, CONTROLLER_PORT, LocalKafkaCluster, LocalKafkaNode
from devstack.kube.binaries import cache_root
from devstack.kube.substrate import KubeSubstrate, SubstrateBusy
from devstack.postgres import LocalPostgres
from devstack.pytest_plugin import wait_until
from tests.conftest import migrate
from workers.adapters.kafka_admin import ConfluentAdmin
from workers.adapters.kube import HttpKube, Kube, Obj
from workers.builders import names
from workers.config import WorkerSettings
from workers.outcome import Outcome, Ready, RequeueAfter
from workers.reconcilers import cluster
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
        return admin_password(get_settings().credential_key, self.uid)


@pytest.fixture(scope="package")
def kafka_home() -> Path:
    return kafka_dist.ensure(kafka_dist.default_version())


@pytest.fixture(scope="module")
def kafka(kafka_home: Path) -> Iterator[SharedKafka]:
    """A Kafka cluster per module (one at a time: two small JVMs), so that no module sees
    what another left on the brokers."""
    uid = uuid.uuid4()
    password = admin_password(get_settings().credential_key, uid)
    with LocalKafkaCluster(
        controllers=1,
        brokers=1,
        name="workers",
        admin_username=ADMIN_USERNAME,
        admin_password=password,
        memory_mib=512,
        jvm_profile="small",
    ) as local:
        yield SharedKafka(local, uid)


def cluster_row(
    session: Session,
    cluster_id: str = "c",
    *,
    project_id: str = "p",
    uid: uuid.UUID | None = None,
    kafka_version: str = "4.4.0",
    brokers: int = 1,
) -> Cluster:
    """A cluster's desired-state row (and its project's, if missing), flushed: what the API
    stores on a create, for tests of what the workers do with it."""
    if session.get(Project, project_id) is None:
        session.add(Project(id=project_id))
        session.flush()
    c = Cluster(
        project_id=project_id,
        cluster_id=cluster_id,
        kafka_version=kafka_version,
        broker_count=brokers,
        controller_count=min(brokers, 3),
        broker_resources={"cpu": 0.25, "memory_gib": 0.5},
        storage_gib=1,
    )
    if uid is not None:
        c.uid = uid
    session.add(c)
    session.flush()
    return c


def seed_cluster(session: Session, kafka: SharedKafka, state: str | None = "ACTIVE") -> Cluster:
    """The cluster row the shared Kafka cluster stands for, with the status its own
    reconciler records once ready (the topic, ACL and user passes read the address there) —
    or, with `state` None, as just created (no status)."""
    c = cluster_row(session, uid=kafka.uid, kafka_version=kafka.local.version)
    if state is None:
        session.commit()
        return c
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
        client = ConfluentAdmin(bootstrap, ADMIN_USERNAME, password)
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
            secret_key=get_settings().credential_key,
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


@pytest.fixture(scope="package")
def substrate() -> Iterator[KubeSubstrate]:
    """The real Kubernetes control plane, in a free slot of the devstack's pytest slots."""
    base = cache_root() / "devstack-pytest"
    for slot in range(4):
        try:
            started = KubeSubstrate(base / f"slot-{slot}").start()
        except SubstrateBusy:
            continue
        try:
            yield started
        finally:
            started.stop()
        return
    raise RuntimeError(f"every devstack slot under {base} is in use")


def no_pods_namespace(substrate: KubeSubstrate, namespace: str) -> None:
    """The cluster's namespace, created before its reconciler applies it, with a quota that
    admits no pod (the StatefulSets' pods are the local Kafka nodes: see NodesKube)."""
    rest = substrate.rest()
    # An earlier module's cluster of the same uid may still be terminating.
    wait_gone(substrate, namespace, 60)
    rest.create(
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
    )
    rest.create(
        f"/api/v1/namespaces/{namespace}/resourcequotas",
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "no-pods"},
            "spec": {"hard": {"pods": "0"}},
        },
    )


def wait_gone(substrate: KubeSubstrate, namespace: str, timeout: float) -> None:
    rest = substrate.rest()
    wait_until(
        lambda: rest.get_or_none(f"/api/v1/namespaces/{namespace}") is None,
        timeout,
        f"namespace {namespace} to be gone",
        interval=0.5,
    )


def _serving(node: LocalKafkaNode) -> bool:
    """What the pod's readiness probe would say: its listener accepts connections."""
    if not node.running:
        return False
    port = CLIENT_PORT if node.is_broker else CONTROLLER_PORT
    try:
        socket.create_connection((node.host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


class NodesKube:
    """The real apiserver for every object — but Pods and the bootstrap Endpoints, which are
    the shared Kafka cluster's: pod `<statefulset>-<n>` is the n-th controller or broker node.

    A pod is "created" (remembered with the labels, annotations and image of its StatefulSet's
    template and the StatefulSet's update revision, as the StatefulSet controller would) when
    first listed, and Ready while its node serves. Deleting one restarts its node (SIGTERM,
    then a start on the same data) and the next listing recreates it from the current
    template — a roll, as the pod runner would do it; once the StatefulSet is gone, a deleted
    pod just disappears (the node keeps running: the module's tests share it). A pod named in
    `not_ready` fails its readiness probe."""

    def __init__(self, real: HttpKube, kafka: SharedKafka) -> None:
        self.real = real
        self.kafka = kafka
        self.pods: dict[str, Obj] = {}
        self.restarts: dict[str, int] = {}
        self.gone: set[str] = set()
        # Pods whose readiness probe fails (as a frozen node's would), whatever their node does.
        self.not_ready: set[str] = set()

    @property
    def writes(self) -> int:
        return self.real.writes

    def _node(self, pod_name: str) -> LocalKafkaNode:
        pool, ordinal = pod_name.rsplit("-", 1)
        nodes = self.kafka.local.brokers if pool == names.BROKERS else self.kafka.local.controllers
        return nodes[int(ordinal)]

    def _list_pods(self, namespace: str) -> list[Obj]:
        out = []
        for sts in self.real.list_objects("StatefulSet", namespace):
            template = sts["spec"]["template"]
            for ordinal in range(int(sts["spec"].get("replicas") or 0)):
                name = f"{sts['metadata']['name']}-{ordinal}"
                if name in self.gone:
                    continue
                status = sts.get("status") or {}
                revision = status.get("updateRevision", "")
                seen = status.get("observedGeneration", 0) >= sts["metadata"]["generation"]
                if name not in self.pods and not (revision and seen):
                    # The StatefulSet controller creates pods from the revision it computed
                    # for the current template; before that, there is no pod.
                    continue
                if name not in self.pods:
                    labels = dict(template["metadata"].get("labels") or {})
                    labels[names.LABEL_REVISION] = revision
                    self.pods[name] = {
                        "metadata": {
                            "name": name,
                            "namespace": namespace,
                            "labels": labels,
                            "annotations": dict(template["metadata"].get("annotations") or {}),
                        },
                        "spec": {"containers": template["spec"]["containers"]},
                    }
                pod = self.pods[name]
                node = self._node(name)
                ready = "True" if name not in self.not_ready and _serving(node) else "False"
                pod["status"] = {
                    "podIP": node.host,
                    "conditions": [{"type": "Ready", "status": ready}],
                }
                out.append(pod)
        return out

    def apply(self, manifests: Sequence[Obj]) -> list[str]:
        return self.real.apply(manifests)

    def prune(self, namespace: str, selector: str, keep: Iterable[tuple[str, str]]) -> list[str]:
        return self.real.prune(namespace, selector, keep)

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        if kind == "Pod":
            assert namespace is not None
            return next(
                (p for p in self._list_pods(namespace) if p["metadata"]["name"] == name), None
            )
        if kind == "Endpoints" and name == names.BOOTSTRAP_SVC:
            assert namespace is not None
            ready = [
                p["status"]["podIP"]
                for p in self._list_pods(namespace)
                if p["metadata"]["name"].startswith(names.BROKERS)
                and p["status"]["conditions"][0]["status"] == "True"
            ]
            addresses = [{"ip": ip} for ip in ready]
            return {"subsets": [{"addresses": addresses, "ports": [{"port": CLIENT_PORT}]}]}
        return self.real.get(kind, name, namespace)

    def list_objects(self, kind: str, namespace: str, selector: str = "") -> list[Obj]:
        if kind == "Pod":
            return self._list_pods(namespace)
        return self.real.list_objects(kind, namespace, selector)

    def delete(
        self, kind: str, name: str, namespace: str | None = None, grace_seconds: int | None = None
    ) -> bool:
        if kind != "Pod":
            return self.real.delete(kind, name, namespace, grace_seconds)
        if name not in self.pods:
            return False
        self.real.writes += 1
        del self.pods[name]
        assert namespace is not None
        sts = self.real.get("StatefulSet", name.rsplit("-", 1)[0], namespace)
        if sts is None:
            self.gone.add(name)
            return True
        node = self._node(name)
        self.kafka.local.stop_node(node.node_id)
        self.kafka.local.start_node(node.node_id, wait=False)
        self.restarts[name] = self.restarts.get(name, 0) + 1
        return True

    def patch_merge(self, kind: str, name: str, namespace: str, patch: Obj) -> None:
        self.real.patch_merge(kind, name, namespace, patch)


@dataclass
class OperationSeen:
    """An Operation as a client polling it after one pass would see it."""

    version: int
    visible: tuple[Any, ...]


def operation_seen(engine: Engine, operation_id: str) -> OperationSeen:
    with Session(engine) as session:
        op = session.scalars(select(Operation).where(Operation.operation_id == operation_id)).one()
        return OperationSeen(
            op.version,
            (op.done, op.progress_percent, op.status_message, op.steps, op.error, op.response),
        )


def converge(
    engine: Engine,
    kube: Kube,
    cluster_uid: uuid.UUID,
    timeout: float,
    operation_id: str | None = None,
    **context: Any,
) -> tuple[list[PassResult], list[OperationSeen]]:
    """Cluster passes until one ends Ready, each next one after the requeue the last asked
    for (as the task's continuation does), within `timeout`; with the Operation after each."""
    deadline = time.monotonic() + timeout
    passes: list[PassResult] = []
    seen: list[OperationSeen] = []
    while True:
        result = run_pass(engine, cluster.reconcile, cluster_uid, kube=kube, **context)
        passes.append(result)
        if operation_id is not None:
            seen.append(operation_seen(engine, operation_id))
        if isinstance(result.outcome, Ready):
            return passes, seen
        assert isinstance(result.outcome, RequeueAfter), result.outcome
        left = deadline - time.monotonic()
        assert left > 0, f"not converged after {timeout:g}s: {[p.outcome for p in passes[-5:]]}"
        time.sleep(min(result.outcome.seconds, 1.0, left))


def assert_progress_written_once_per_pass(seen: Sequence[OperationSeen]) -> None:
    """An Operation's version moves by one exactly when what a client sees of it changed."""
    for before, after in itertools.pairwise(seen):
        changed = before.visible != after.visible
        assert after.version - before.version == int(changed), (before, after)
