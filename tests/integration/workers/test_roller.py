"""The roller's adapter and planner on real parts: the facts KafkaPythonRollAdmin reads from a
real Kafka cluster, and a roll the roll step drives on the real Kubernetes control plane (the
pods being the package's Kafka nodes: NodesKube) with the cluster's rows in a real Postgres —
controller first, one pod at a time, the plan in the Operation's steps, the Operation's version
moving once per visible change; then a second pass writes nothing anywhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.models import Cluster, Operation, ResourceStatus
from devstack.kube.substrate import KubeSubstrate
from tests.integration.workers.conftest import (
    NodesKube,
    SharedKafka,
    assert_progress_written_once_per_pass,
    converge,
    no_pods_namespace,
    run_pass,
    seed_cluster,
)
from workers.adapters import kafka_roll
from workers.adapters.kube import HttpKube
from workers.builders import names
from workers.outcome import Ready
from workers.planning import roller as planner
from workers.reconcilers import cluster

TOPIC = "rolled"


@pytest.fixture(scope="module")
def kube(substrate: KubeSubstrate, kafka: SharedKafka) -> Iterator[NodesKube]:
    no_pods_namespace(substrate, names.namespace_of(kafka.uid))
    real = HttpKube.from_config(str(substrate.kubeconfig_path))
    try:
        yield NodesKube(real, kafka)
    finally:
        real.close()


@pytest.fixture(scope="module")
def active(engine: Engine, kafka: SharedKafka, kube: NodesKube) -> None:
    """The cluster converged (ACTIVE) once, and a topic whose ISR the roll must respect."""
    admin = AdminClient(kafka.local.admin_config())
    created = admin.create_topics(
        [NewTopic(TOPIC, 2, 1, config={"min.insync.replicas": "1"})], operation_timeout=20
    )
    created[TOPIC].result(timeout=30)
    with Session(engine) as session:
        seed_cluster(session, kafka, state=None)
    passes, _ = converge(engine, kube, kafka.uid, 180)
    assert isinstance(passes[-1].outcome, Ready)
    assert kube.restarts == {}  # pods starting for the first time are no roll


def test_the_adapter_reads_the_facts_the_planner_needs(kafka: SharedKafka, active: None) -> None:
    with kafka_roll.roll_admin(kafka.local.bootstrap_servers, kafka.password, 10.0) as admin:
        quorum = admin.quorum()
        partitions = admin.partitions()
        levels = admin.metadata_version()
    assert quorum.leader_id == 0 and set(quorum.lag) == {0}
    rolled = sorted((p for p in partitions if p.topic == TOPIC), key=lambda p: p.partition)
    assert [(p.partition, p.replicas, p.isr, p.min_isr) for p in rolled] == [
        (0, (100,), (100,), 1),
        (1, (100,), (100,), 1),
    ]
    assert 0 < levels.finalized <= levels.supported_max
    # The planner on those facts: the sole controller first, then the broker.
    pods = [
        planner.PodFacts("kafka-controller-0", "controller", 0, ready=True, current=False),
        planner.PodFacts("kafka-broker-0", "broker", 100, ready=True, current=False),
    ]
    plan = planner.plan(planner.RollInput(pods, quorum, partitions))
    assert (plan.action.kind, plan.action.pod) == ("delete", "kafka-controller-0")


def test_a_static_setting_rolls_each_pod_once_controller_first(
    engine: Engine, kafka: SharedKafka, kube: NodesKube, active: None
) -> None:
    uid = kafka.uid
    with Session(engine) as session:
        c = session.get(Cluster, uid)
        assert c is not None
        # Read by controllers and brokers alike: both StatefulSets get a new template.
        c.config = {"default.replication.factor": "1"}
        c.generation += 1
        session.add(
            Operation(
                project_id="p",
                operation_id="update-c",
                verb="update",
                kind="cluster",
                target="projects/p/clusters/c",
                target_uid=uid,
                cluster_uid=uid,
                target_generation=c.generation,
            )
        )
        session.commit()
    pids = dict(kafka.local.pids)

    passes, seen = converge(engine, kube, uid, 300, operation_id="update-c")
    story = [p.outcome for p in passes]
    assert_progress_written_once_per_pass(seen)
    assert kube.restarts == {"kafka-controller-0": 1, "kafka-broker-0": 1}, story
    assert list(kube.restarts) == ["kafka-controller-0", "kafka-broker-0"]
    assert set(kafka.local.pids) == set(pids) and kafka.local.pids != pids
    # The plan was the roll step's sub-steps, a step per pod.
    shown = {s["name"] for o in seen for s in o.visible[3]}
    assert {"roll", "controller kafka-controller-0", "broker kafka-broker-0"} <= shown, shown
    assert any(o.visible[2].startswith("restarting kafka-broker-0") for o in seen), seen
    done, percent, message, _steps, error, _response = seen[-1].visible
    assert (done, percent, message, error) == (True, 100, "done", None)
    with Session(engine) as session:
        st = session.get(ResourceStatus, uid)
        assert st is not None and st.state == "ACTIVE" and "roll" not in st.data
        conditions = {c["type"]: c["reason"] for c in st.conditions}
        assert conditions["PodsUpToDate"] == "UpToDate"

    second = run_pass(engine, cluster.reconcile, uid, kube=kube)
    assert isinstance(second.outcome, Ready), second.outcome
    assert (second.kube_writes, second.kafka_writes, second.postgres_xid) == (0, 0, None)
    assert kube.restarts == {"kafka-controller-0": 1, "kafka-broker-0": 1}
