"""kplane's broker image on the devstack: a StatefulSet of 3 pods becomes one real Kafka
cluster (KRaft, each pod broker + controller), reachable at the pods' addresses, listed in the
headless Service's Endpoints; deleting pod 1 restarts only pod 1, on the same volume.

One cluster serves the whole module (three JVMs are the most this suite asks of two cores).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicCollection
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from devstack import kafka_dist
from devstack.kube.process import ProcRef
from devstack.kube.rest import KubeRest
from devstack.kube.substrate import KubeSubstrate
from devstack.pytest_plugin import (
    create_namespace,
    delete_namespace,
    get_pod,
    wait_pod,
    wait_pod_ready,
    wait_until,
)
from workers.adapters.kafka_admin import confluent_config

REPLICAS = 3
ClientConfig = dict[str, str | int | float | bool]
ADMIN_USER = "kplane-admin"
TOPIC = "orders"
MESSAGES = [f"message-{i}".encode() for i in range(10)]


@dataclass
class KafkaCluster:
    namespace: str
    password: str
    rest: KubeRest
    substrate: KubeSubstrate

    def pod(self, ordinal: int) -> dict[str, Any]:
        found = get_pod(self.rest, self.namespace, f"kafka-{ordinal}")
        assert found is not None
        return found

    def ips(self) -> list[str]:
        return [self.pod(i)["status"]["podIP"] for i in range(REPLICAS)]

    def client_config(self) -> ClientConfig:
        bootstrap = ",".join(f"{ip}:9092" for ip in self.ips())
        return confluent_config(bootstrap, ADMIN_USER, self.password)

    def kafka_jvm(self, ordinal: int) -> ProcRef | None:
        """The pod's Kafka JVM, found among the processes in the pod's network namespace."""
        for proc in self.substrate.pod_processes(self.namespace, f"kafka-{ordinal}"):
            try:
                cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            if b"kafka.Kafka" in cmdline:
                return proc
        return None

    def log_dir(self, ordinal: int) -> Path:
        """Kafka's log dir on the host: inside the directory of the pod's PersistentVolume."""
        claim = self.rest.get(
            f"/api/v1/namespaces/{self.namespace}/persistentvolumeclaims/data-kafka-{ordinal}"
        )
        pv = self.rest.get(f"/api/v1/persistentvolumes/{claim['spec']['volumeName']}")
        return Path(pv["spec"]["hostPath"]["path"]) / "data" / "kafka"


def manifests(password: str, cluster_id: str, version: str) -> list[tuple[str, dict[str, Any]]]:
    voters = ",".join(f"{i}@kafka-{i}.kafka:9093" for i in range(REPLICAS))
    labels = {"app": "kafka"}
    env = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "KPLANE_PROCESS_ROLES", "value": "both"},
        {"name": "KPLANE_CLUSTER_ID", "value": cluster_id},
        {"name": "KPLANE_CONTROLLER_QUORUM_VOTERS", "value": voters},
        {"name": "KPLANE_ADMIN_USERNAME", "value": ADMIN_USER},
        {
            "name": "KPLANE_ADMIN_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "kafka-admin", "key": "password"}},
        },
        {"name": "KPLANE_DATA_DIR", "value": "/var/lib/kafka/data"},
        {"name": "KPLANE_CONFIG_DIR", "value": "/etc/kplane/config"},
        {
            "name": "KPLANE_MEMORY_MIB",
            "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
        },
        {"name": "KPLANE_JVM_PROFILE", "value": "small"},
        {"name": "KPLANE_REPLICATION_FACTOR", "value": "3"},
    ]
    container = {
        "name": "kafka",
        "image": f"kplane/broker:{version}",
        "env": env,
        "resources": {"limits": {"memory": "640Mi"}, "requests": {"memory": "640Mi"}},
        "ports": [
            {"name": "client", "containerPort": 9092},
            {"name": "replication", "containerPort": 9091},
            {"name": "controller", "containerPort": 9093},
        ],
        "readinessProbe": {"tcpSocket": {"port": "client"}, "periodSeconds": 2},
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/kafka"},
            {"name": "config", "mountPath": "/etc/kplane/config"},
        ],
    }
    return [
        (
            "secrets",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "kafka-admin"},
                "stringData": {"password": password},
            },
        ),
        (
            "configmaps",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "kafka-config"},
                "data": {"server.properties": "num.partitions=3\n"},
            },
        ),
        (
            "services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "kafka"},
                "spec": {
                    "clusterIP": "None",
                    "publishNotReadyAddresses": True,
                    "selector": labels,
                    "ports": [
                        {"name": n, "port": p}
                        for n, p in (("client", 9092), ("replication", 9091), ("controller", 9093))
                    ],
                },
            },
        ),
        (
            "statefulsets",
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": "kafka"},
                "spec": {
                    "serviceName": "kafka",
                    "replicas": REPLICAS,
                    "podManagementPolicy": "Parallel",
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "terminationGracePeriodSeconds": 60,
                            "containers": [container],
                            "volumes": [{"name": "config", "configMap": {"name": "kafka-config"}}],
                        },
                    },
                    "volumeClaimTemplates": [
                        {
                            "metadata": {"name": "data"},
                            "spec": {
                                "accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": "1Gi"}},
                            },
                        }
                    ],
                },
            },
        ),
    ]


def broker_ids(cluster: KafkaCluster) -> dict[int, str] | None:
    """node id -> advertised host, when the cluster answers with all brokers."""
    admin = AdminClient(cluster.client_config())
    try:
        described = admin.describe_cluster(request_timeout=10).result(timeout=15)
    except KafkaException:
        return None
    nodes = {n.id: n.host for n in described.nodes}
    return nodes if len(nodes) == REPLICAS else None


@pytest.fixture(scope="module")
def kafka_cluster(kube_substrate: KubeSubstrate) -> Iterator[KafkaCluster]:
    rest = kube_substrate.rest()
    namespace = create_namespace(rest, "kafka")
    password = secrets.token_urlsafe(18)
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    version = kafka_dist.default_version()
    kafka_dist.ensure(version)  # a no-op when `make deps` resolved it already
    for plural, body in manifests(password, cluster_id, version):
        group = "/apis/apps/v1" if plural == "statefulsets" else "/api/v1"
        rest.create(f"{group}/namespaces/{namespace}/{plural}", body)
    cluster = KafkaCluster(namespace, password, rest, kube_substrate)
    try:
        for i in range(REPLICAS):
            wait_pod_ready(rest, namespace, f"kafka-{i}", timeout=240)
        wait_until(lambda: broker_ids(cluster), 180, "all three brokers in the cluster metadata")
        yield cluster
    finally:
        delete_namespace(rest, namespace)


def test_statefulset_of_broker_pods_forms_one_kafka_cluster(kafka_cluster: KafkaCluster) -> None:
    ips = kafka_cluster.ips()
    assert len(set(ips)) == REPLICAS
    for i in range(REPLICAS):
        assert kafka_cluster.kafka_jvm(i) is not None, f"no Kafka JVM in pod kafka-{i}"

    # The brokers advertise their pod addresses, and node ids follow the StatefulSet ordinals.
    assert broker_ids(kafka_cluster) == {i: ips[i] for i in range(REPLICAS)}

    rest, ns = kafka_cluster.rest, kafka_cluster.namespace

    def endpoint_ips() -> set[str] | None:
        eps = rest.get_or_none(f"/api/v1/namespaces/{ns}/endpoints/kafka")
        found = {a["ip"] for s in (eps or {}).get("subsets", []) for a in s.get("addresses", [])}
        return found if found == set(ips) else None

    wait_until(endpoint_ips, 30, "the headless Service's Endpoints to list the three pods")

    # Replicated across all three: a write acknowledged by all in-sync replicas, read back.
    config = kafka_cluster.client_config()
    admin = AdminClient(config)
    admin.create_topics([NewTopic(TOPIC, 3, 3)], operation_timeout=30)[TOPIC].result(timeout=60)
    producer = Producer({**config, "acks": "all", "enable.idempotence": "true"})
    for value in MESSAGES:
        producer.produce(TOPIC, value=value)
    assert producer.flush(60) == 0
    assert sorted(read_topic(config, len(MESSAGES))) == sorted(MESSAGES)
    description = admin.describe_topics(TopicCollection([TOPIC]))[TOPIC].result(timeout=30)
    assert all(len(p.isr) == 3 for p in description.partitions)


def read_topic(config: ClientConfig, expected: int, timeout: float = 60.0) -> list[bytes]:
    consumer = Consumer(
        {
            **config,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": "false",
        }
    )
    consumer.subscribe([TOPIC])
    values: list[bytes] = []
    try:

        def poll() -> bool:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                values.append(message.value() or b"")
            return len(values) >= expected

        wait_until(poll, timeout, f"{expected} messages from {TOPIC}", interval=0)
    finally:
        consumer.close()
    return values


def test_deleting_pod_1_restarts_only_pod_1_on_the_same_volume(kafka_cluster: KafkaCluster) -> None:
    rest, ns = kafka_cluster.rest, kafka_cluster.namespace
    before = {i: kafka_cluster.pod(i) for i in range(REPLICAS)}
    jvms = {i: kafka_cluster.kafka_jvm(i) for i in range(REPLICAS)}
    claim_path = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data-kafka-1"
    volume = rest.get(claim_path)["spec"]["volumeName"]
    log_dir = kafka_cluster.log_dir(1)
    meta_before = (log_dir / "meta.properties").read_text()
    partitions_before = {p.name for p in log_dir.glob(f"{TOPIC}-*")}
    assert partitions_before, "pod 1 holds replicas of the topic"

    rest.delete(f"/api/v1/namespaces/{ns}/pods/kafka-1")
    old_uid = before[1]["metadata"]["uid"]
    wait_pod(rest, ns, "kafka-1", lambda p: p["metadata"]["uid"] != old_uid, 120, "re-created")
    jvm1 = jvms[1]
    assert jvm1 is not None and not jvm1.alive(), "the old Kafka process of pod 1 was stopped"
    wait_pod_ready(rest, ns, "kafka-1", timeout=180)

    for i in (0, 2):  # untouched: same pod object, same process, no restart
        now = kafka_cluster.pod(i)
        assert now["metadata"]["uid"] == before[i]["metadata"]["uid"]
        assert now["status"]["containerStatuses"][0]["restartCount"] == 0
        jvm = jvms[i]
        assert jvm is not None and jvm.alive()
    new_jvm = kafka_cluster.kafka_jvm(1)
    assert new_jvm is not None and new_jvm != jvms[1]

    # Same claim, same volume, same Kafka storage: not re-formatted, replicas still there.
    assert rest.get(claim_path)["spec"]["volumeName"] == volume
    assert kafka_cluster.log_dir(1) == log_dir
    assert (log_dir / "meta.properties").read_text() == meta_before
    assert partitions_before <= {p.name for p in log_dir.glob(f"{TOPIC}-*")}

    wait_until(lambda: broker_ids(kafka_cluster), 120, "three brokers again")
    assert sorted(read_topic(kafka_cluster.client_config(), len(MESSAGES))) == sorted(MESSAGES)
