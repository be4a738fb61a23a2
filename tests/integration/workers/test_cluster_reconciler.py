"""The cluster reconciler on a real, migrated Postgres, the real Kubernetes control plane and
a real Kafka cluster (the StatefulSets' pods are the package's Kafka nodes: NodesKube): from a
new row to ACTIVE, the Operation's progress written once per pass; then a second pass writes
nothing to Kubernetes, Kafka or Postgres; then the deletion removes namespace and rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.models import Cluster, Operation, ResourceStatus
from app.models.base import utcnow
from devstack.kube.substrate import KubeSubstrate
from devstack.pytest_plugin import wait_until
from tests.integration.workers.conftest import (
    NodesKube,
    PassResult,
    SharedKafka,
    assert_progress_written_once_per_pass,
    converge,
    no_pods_namespace,
    operation_seen,
    run_pass,
    seed_cluster,
)
from workers.adapters.kube import PRUNABLE, HttpKube
from workers.builders import names
from workers.outcome import Ready
from workers.reconcilers import cluster


@pytest.fixture
def kube(substrate: KubeSubstrate, kafka: SharedKafka) -> Iterator[NodesKube]:
    no_pods_namespace(substrate, names.namespace_of(kafka.uid))
    real = HttpKube.from_config(str(substrate.kubeconfig_path))
    try:
        yield NodesKube(real, kafka)
    finally:
        real.close()


def resource_versions(kube: NodesKube, namespace: str) -> dict[str, str]:
    out = {}
    for kind in PRUNABLE:
        for obj in kube.real.list_objects(kind, namespace):
            out[f"{kind}/{obj['metadata']['name']}"] = obj["metadata"]["resourceVersion"]
    ns = kube.real.get("Namespace", namespace)
    assert ns is not None
    out["Namespace"] = ns["metadata"]["resourceVersion"]
    return out


def _stopped_at_pods(engine: Engine, kube: NodesKube, uid: uuid.UUID) -> PassResult | None:
    result = run_pass(engine, cluster.reconcile, uid, kube=kube)
    reason = getattr(result.outcome, "reason", "")
    return result if reason == "waiting for the pods to be ready" else None


def test_a_new_cluster_becomes_active_then_a_second_pass_writes_nothing(
    engine: Engine, kafka: SharedKafka, kube: NodesKube
) -> None:
    uid, namespace = kafka.uid, names.namespace_of(kafka.uid)
    with Session(engine) as session:
        seed_cluster(session, kafka, state=None)
        session.add(
            Operation(
                project_id="p",
                operation_id="create-c",
                verb="create",
                kind="cluster",
                target="projects/p/clusters/c",
                target_uid=uid,
                cluster_uid=uid,
                target_generation=1,
            )
        )
        session.commit()

    # The broker's pod is not Ready at first: the pass must wait for it, and say so.
    kube.not_ready = {"kafka-broker-0"}
    try:
        waited = wait_until(
            lambda: _stopped_at_pods(engine, kube, uid), 120, "a pass waiting for the pods"
        )
    finally:
        kube.not_ready = set()
    assert waited.kafka_writes == 0
    with Session(engine) as session:
        st = session.get(ResourceStatus, uid)
        assert st is not None and st.state == "CREATING"
        waiting = {c["type"]: (c["status"], c["message"]) for c in st.conditions}
        assert waiting["Ready"] == ("False", "waiting for the pods to be ready")
        assert waiting["BrokersReady"] == ("False", "0/1 broker pods ready")
    op = operation_seen(engine, "create-c")
    steps = {s["name"]: s["state"] for s in op.visible[3]}
    assert steps == {
        name: ("DONE" if i < cluster.STEP_NAMES.index("pods") else "PENDING")
        for i, name in enumerate(cluster.STEP_NAMES)
    } | {"pods": "RUNNING"}
    assert op.visible[2] == "waiting for the pods to be ready"

    passes, seen = converge(engine, kube, uid, 180, operation_id="create-c")
    assert_progress_written_once_per_pass([op, *seen])
    done, percent, message, _steps, error, response = seen[-1].visible
    assert (done, percent, message, error) == (True, 100, "done", None)
    assert response["name"] == "projects/p/clusters/c" and response["state"] == "ACTIVE"
    assert passes[-1].enqueued == [
        ("topics.reconcile", str(uid)),
        ("acls.reconcile", str(uid)),
        ("users.reconcile", str(uid)),
    ]
    with Session(engine) as session:
        st = session.get(ResourceStatus, uid)
        assert st is not None and st.state == "ACTIVE" and st.observed_generation == 1
        conditions = {c["type"]: c["status"] for c in st.conditions}
        assert conditions == {
            "Ready": "True",
            "ControllersReady": "True",
            "BrokersReady": "True",
            "PodsUpToDate": "True",
        }
        assert st.data["bootstrap_servers"] == kafka.local.bootstrap_servers
        assert st.data["brokers"] == [
            {
                "node_id": 100,
                "state": "RUNNING",
                "kafka_version": kafka.local.version,
                "ready": True,
            }
        ]
        assert st.data["running_kafka_version"] == kafka.local.version
        assert st.data["placement_brokers"] == 1
    objects = resource_versions(kube, namespace)
    assert {k.split("/")[0] for k in objects} == {*PRUNABLE, "Namespace"}

    before = resource_versions(kube, namespace)
    second = run_pass(engine, cluster.reconcile, uid, kube=kube)
    assert isinstance(second.outcome, Ready), second.outcome
    assert (second.kube_writes, second.kafka_writes, second.postgres_xid) == (0, 0, None)
    assert resource_versions(kube, namespace) == before
    assert second.enqueued == []  # the dependents were asked for when it first became ready
    assert kube.restarts == {}


def test_the_deletion_removes_the_namespace_then_the_rows(
    engine: Engine, kafka: SharedKafka, substrate: KubeSubstrate
) -> None:
    real = HttpKube.from_config(str(substrate.kubeconfig_path))
    kube = NodesKube(real, kafka)
    try:
        with Session(engine) as session:
            c = session.get(Cluster, kafka.uid)
            assert c is not None
            c.delete_time = utcnow()
            session.commit()
        passes, _ = converge(engine, kube, kafka.uid, 120)
        assert passes[-1].outcome == Ready("deleted")
        assert real.get("Namespace", names.namespace_of(kafka.uid)) is None
        with Session(engine) as session:
            assert session.get(Cluster, kafka.uid) is None
            assert session.scalars(select(ResourceStatus)).all() == []
    finally:
        real.close()
