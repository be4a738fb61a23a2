"""Pure tests of the cluster manifests: names, env contract, pools, determinism."""

from __future__ import annotations

import base64
import uuid

import pytest

from app.core.secrets import ADMIN_USERNAME, admin_password
from workers.builders import cluster as build
from workers.builders import names

UID = uuid.UUID("12345678-1234-5678-1234-567812345678")


def spec(**overrides: object) -> build.ClusterSpec:
    values: dict[str, object] = {
        "uid": UID,
        "project_id": "p",
        "cluster_id": "c",
        "kafka_version": "4.4.0",
        "broker_count": 3,
        "controller_count": 3,
        "cpu": 1.0,
        "memory_gib": 2.0,
        "storage_gib": 100,
        "config": {"num.partitions": "3", "auto.create.topics.enable": "false"},
    }
    values.update(overrides)
    return build.ClusterSpec(**values)  # type: ignore[arg-type]


OPTS = build.BuildOptions(admin_password="pw-0123456789")


def by_kind(manifests: list[build.Manifest]) -> dict[tuple[str, str], build.Manifest]:
    return {(m["kind"], m["metadata"]["name"]): m for m in manifests}


def env_of(sts: build.Manifest) -> dict[str, object]:
    container = sts["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_objects_and_order() -> None:
    kinds = [(m["kind"], m["metadata"]["name"]) for m in build.manifests(spec(), OPTS)]
    assert kinds == [
        ("Secret", "kafka-internal"),
        ("ConfigMap", "kafka-config"),
        ("Service", "kafka-controllers"),
        ("Service", "kafka-brokers"),
        ("Service", "kafka-bootstrap"),
        ("PodDisruptionBudget", "kafka-controller"),
        ("PodDisruptionBudget", "kafka-broker"),
        ("NetworkPolicy", "kafka-controller"),
        ("NetworkPolicy", "kafka-broker"),
        ("StatefulSet", "kafka-controller"),
        ("StatefulSet", "kafka-broker"),
    ]


def test_every_object_is_labelled_and_namespaced() -> None:
    for m in build.manifests(spec(), OPTS):
        assert m["metadata"]["namespace"] == f"kplane-{UID}"
        assert m["metadata"]["labels"][names.LABEL_CLUSTER_UID] == str(UID)
        assert m["metadata"]["labels"][names.MANAGED_BY] == "kplane"


def test_deterministic() -> None:
    assert build.manifests(spec(), OPTS) == build.manifests(spec(), OPTS)
    reordered = spec(config={"auto.create.topics.enable": "false", "num.partitions": "3"})
    assert build.manifests(reordered, OPTS) == build.manifests(spec(), OPTS)


@pytest.mark.parametrize(
    ("brokers", "controllers", "rf"), [(1, 1, "1"), (2, 1, "2"), (3, 3, "3"), (6, 3, "3")]
)
def test_pools(brokers: int, controllers: int, rf: str) -> None:
    objs = by_kind(build.manifests(spec(broker_count=brokers, controller_count=controllers), OPTS))
    broker = objs[("StatefulSet", "kafka-broker")]
    controller = objs[("StatefulSet", "kafka-controller")]
    assert broker["spec"]["replicas"] == brokers
    assert controller["spec"]["replicas"] == controllers
    for sts in (broker, controller):
        assert sts["spec"]["updateStrategy"] == {"type": "OnDelete"}
        assert env_of(sts)["KPLANE_REPLICATION_FACTOR"] == rf
        voters = str(env_of(sts)["KPLANE_CONTROLLER_QUORUM_VOTERS"]).split(",")
        assert voters == [
            f"{i}@kafka-controller-{i}.kafka-controllers:9093" for i in range(controllers)
        ]
    assert env_of(broker)["KPLANE_NODE_ID_OFFSET"] == "100"
    assert env_of(controller)["KPLANE_NODE_ID_OFFSET"] == "0"
    assert env_of(broker)["KPLANE_PROCESS_ROLES"] == "broker"


def test_resources_and_storage() -> None:
    objs = by_kind(build.manifests(spec(memory_gib=0.5, cpu=0.5, storage_gib=7), OPTS))
    broker = objs[("StatefulSet", "kafka-broker")]["spec"]
    container = broker["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["memory"] == "512Mi"
    assert container["resources"]["requests"]["cpu"] == "500m"
    claim = broker["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
    assert claim == "7Gi"
    grown = build.BuildOptions(admin_password="pw-0123456789", claim_template_gib=5)
    objs = by_kind(build.manifests(spec(storage_gib=9), grown))
    sts = objs[("StatefulSet", "kafka-broker")]["spec"]
    assert sts["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "5Gi"


def test_secret_and_identity() -> None:
    secret = by_kind(build.manifests(spec(), OPTS))[("Secret", "kafka-internal")]
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data["admin-password"] == "pw-0123456789"
    assert data["admin-username"] == ADMIN_USERNAME
    assert len(data["cluster-id"]) == 22
    assert base64.urlsafe_b64decode(data["cluster-id"] + "==") == UID.bytes
    a = admin_password(b"k1", UID)
    assert a == admin_password(b"k1", UID) != admin_password(b"k2", UID)


def test_server_properties_sorted() -> None:
    text = build.server_properties({"b": "2", "a": "1"})
    assert text.splitlines()[1:] == ["a=1", "b=2"]


def test_headless_services_publish_not_ready() -> None:
    objs = by_kind(build.manifests(spec(), OPTS))
    assert objs[("Service", "kafka-controllers")]["spec"]["publishNotReadyAddresses"] is True
    assert objs[("Service", "kafka-controllers")]["spec"]["clusterIP"] == "None"
    assert "clusterIP" not in objs[("Service", "kafka-bootstrap")]["spec"]


def _admits(
    policies: list[build.Manifest], target: dict[str, str], source: dict[str, str], port: int
) -> bool:
    """Kubernetes' Ingress rule for the subset the builders use (matchLabels selectors in one
    namespace, TCP ports): a pod no policy selects admits everything; a selected pod admits a
    connection that some rule of a policy selecting it allows."""

    def matches(selector: dict[str, dict[str, str]], labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())

    selecting = [p["spec"] for p in policies if matches(p["spec"]["podSelector"], target)]
    if not selecting:
        return True
    return any(
        any(p["port"] == port for p in rule.get("ports", []))
        and (
            "from" not in rule or any(matches(peer["podSelector"], source) for peer in rule["from"])
        )
        for policy in selecting
        for rule in policy["ingress"]
    )


def test_network_policies_admit_clients_and_the_clusters_own_nodes_only() -> None:
    policies = build.network_policies(spec())

    def pod(pool: str, uid: uuid.UUID = UID) -> dict[str, str]:
        return {**names.labels("p", "c", uid), names.LABEL_POOL: pool}

    broker, controller = pod("broker"), pod("controller")
    other_broker = pod("broker", uuid.uuid4())  # another cluster's
    outsider: dict[str, str] = {}  # a client, a worker
    client, replication, quorum = names.CLIENT_PORT, names.REPLICATION_PORT, names.CONTROLLER_PORT
    assert _admits(policies, broker, outsider, client)
    assert _admits(policies, broker, broker, replication)
    assert not _admits(policies, broker, outsider, replication)
    assert not _admits(policies, broker, other_broker, replication)
    assert not _admits(policies, broker, outsider, 8080)
    assert _admits(policies, controller, broker, quorum)
    assert _admits(policies, controller, controller, quorum)
    assert not _admits(policies, controller, outsider, quorum)
    assert not _admits(policies, controller, other_broker, quorum)
    assert not _admits(policies, controller, broker, client)
