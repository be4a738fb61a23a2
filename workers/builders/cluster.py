"""PURE: one Kafka cluster's Kubernetes objects, in apply order.

Namespace → Secret (internal credential) → ConfigMap (broker settings) → headless Services per
pool + bootstrap Service → PodDisruptionBudgets → controller and broker StatefulSets. The pod
env follows broker/README.md's contract; updateStrategy OnDelete leaves restarts to a roller.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from app.core.secrets import ADMIN_USERNAME
from workers.builders import names

Manifest = dict[str, Any]


@dataclass(frozen=True)
class ClusterSpec:
    """The desired state of a cluster as the builders need it (no ORM row: builders are pure)."""

    uid: uuid.UUID
    project_id: str
    cluster_id: str
    kafka_version: str
    broker_count: int
    controller_count: int
    cpu: float
    memory_gib: float
    storage_gib: int
    config: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildOptions:
    """How this installation renders pods (worker settings, not per-cluster desired state)."""

    admin_password: str
    image: str = "kplane/broker"
    # A rebuild of the broker image for the same Kafka version: tag `<version>-<build>`.
    image_build: str = ""
    # Broker settings Kafka changes on a running broker (the others need a restart).
    dynamic_settings: frozenset[str] = frozenset()
    jvm_profile: str = "server"
    controller_memory_mib: int = 512
    controller_storage_gib: int = 5
    # The size in the broker StatefulSet's volumeClaimTemplates. Kubernetes refuses changes to
    # them, so a grown cluster keeps the size it was created with there; claims grow apart.
    claim_template_gib: int | None = None
    # Broker pods to keep running beyond broker_count: a scale-in keeps the old pods until
    # their replicas have moved away (the scaling step lowers it once they are empty).
    broker_pods: int | None = None


def readiness_probe(port: int) -> Manifest:
    """Ready only while the node answers an ApiVersions request on `port` (the image's
    /opt/kplane/kafka-ready, pure bash). A tcpSocket probe passed while the JVM was frozen:
    the kernel still accepts connections into the listen backlog. 1 s per reply, three misses:
    a frozen node leaves the Service endpoints in about 6 s."""
    return {
        "exec": {"command": ["/opt/kplane/kafka-ready", str(port), "127.0.0.1", "1"]},
        "periodSeconds": 1,
        # Beyond the script's own 1 s: a connect that hangs (full backlog) is cut here.
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }


def server_properties(config: dict[str, str]) -> str:
    """The ConfigMap's server.properties: the cluster's allow-listed settings, sorted so that
    the same settings always render the same bytes (no spurious apply)."""
    lines = ["# Rendered by kplane from the cluster's `config`; the entrypoint owns the rest."]
    lines += [f"{key}={config[key]}" for key in sorted(config)]
    return "\n".join(lines) + "\n"


# The settings a KRaft controller itself reads (defaults it applies when creating topics); a
# change of any other setting leaves the controllers running.
CONTROLLER_SETTINGS = frozenset({"default.replication.factor", "num.partitions"})


def restart_config(
    config: dict[str, str], pool: str, dynamic: frozenset[str] = frozenset()
) -> dict[str, str]:
    """The settings that take effect only when a node of `pool` restarts (the brokers'
    `dynamic` ones are altered on the running brokers through the Admin API)."""
    if pool != "broker":
        # Dynamic alteration reaches the brokers only: a controller reads these at start.
        return {k: v for k, v in config.items() if k in CONTROLLER_SETTINGS}
    return {k: v for k, v in config.items() if k not in dynamic}


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def image_of(spec: ClusterSpec, opts: BuildOptions) -> str:
    tag = f"{spec.kafka_version}-{opts.image_build}" if opts.image_build else spec.kafka_version
    return f"{opts.image}:{tag}"


def replication_factor(broker_count: int) -> int:
    return min(3, broker_count)


def _meta(name: str, spec: ClusterSpec, extra: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": names.namespace_of(spec.uid),
        "labels": {**names.labels(spec.project_id, spec.cluster_id, spec.uid), **(extra or {})},
    }


def quorum_voters(spec: ClusterSpec) -> str:
    """Static KRaft voters by stable per-pod DNS names (`<pod>.<headless svc>`)."""
    return ",".join(
        f"{i}@{names.CONTROLLERS}-{i}.{names.CONTROLLERS_SVC}:{names.CONTROLLER_PORT}"
        for i in range(spec.controller_count)
    )


def _secret_env(name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": names.SECRET, "key": key}}}


def _pod_labels(spec: ClusterSpec, pool: str | None = None) -> dict[str, str]:
    """The labels that select the cluster's pods (of one pool, given `pool`)."""
    labels = {names.LABEL_CLUSTER_UID: str(spec.uid)}
    return labels if pool is None else {**labels, names.LABEL_POOL: pool}


def _pods_of(spec: ClusterSpec, pool: str | None = None) -> dict[str, Any]:
    """A label selector of the cluster's pods (of one pool, given `pool`)."""
    return {"matchLabels": _pod_labels(spec, pool)}


def _pool(
    spec: ClusterSpec,
    opts: BuildOptions,
    *,
    pool: str,
    replicas: int,
    memory_mib: int,
    cpu: float,
    storage_gib: int,
) -> Manifest:
    is_broker = pool == "broker"
    sts_name = names.BROKERS if is_broker else names.CONTROLLERS
    service = names.BROKERS_SVC if is_broker else names.CONTROLLERS_SVC
    selector = _pod_labels(spec, pool)
    ready_port = names.CLIENT_PORT if is_broker else names.CONTROLLER_PORT
    env: list[dict[str, Any]] = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "KPLANE_PROCESS_ROLES", "value": pool},
        {"name": "KPLANE_NODE_ID_OFFSET", "value": str(names.BROKER_ID_OFFSET if is_broker else 0)},
        _secret_env("KPLANE_CLUSTER_ID", "cluster-id"),
        {"name": "KPLANE_CONTROLLER_QUORUM_VOTERS", "value": quorum_voters(spec)},
        _secret_env("KPLANE_ADMIN_USERNAME", "admin-username"),
        _secret_env("KPLANE_ADMIN_PASSWORD", names.ADMIN_PASSWORD_KEY),
        {
            "name": "KPLANE_MEMORY_MIB",
            "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
        },
        {"name": "KPLANE_JVM_PROFILE", "value": opts.jvm_profile},
        {"name": "KPLANE_REPLICATION_FACTOR", "value": str(replication_factor(spec.broker_count))},
        {"name": "KPLANE_DATA_DIR", "value": "/var/lib/kafka/data"},
        {"name": "KPLANE_CONFIG_DIR", "value": "/etc/kplane/broker"},
    ]
    resources = {
        "requests": {"cpu": f"{int(cpu * 1000)}m", "memory": f"{memory_mib}Mi"},
        "limits": {"memory": f"{memory_mib}Mi"},
    }
    container = {
        "name": "kafka",
        "image": image_of(spec, opts),
        "env": env,
        "resources": resources,
        "ports": [
            {"name": "clients", "containerPort": names.CLIENT_PORT},
            {"name": "replication", "containerPort": names.REPLICATION_PORT},
            {"name": "controller", "containerPort": names.CONTROLLER_PORT},
        ],
        # Ready = the node answers a Kafka request; the worker then checks health through the
        # Admin API (registered, unfenced) before calling the cluster ready.
        "readinessProbe": readiness_probe(ready_port),
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/kafka"},
            {"name": "config", "mountPath": "/etc/kplane/broker", "readOnly": True},
        ],
    }
    pod_spec = {
        "terminationGracePeriodSeconds": 120,
        "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000},
        "containers": [container],
        "volumes": [{"name": "config", "configMap": {"name": names.CONFIGMAP}}],
    }
    # The ConfigMap is not part of the pod template, so a setting that needs a restart changes
    # the template through this hash (and with it the StatefulSet's revision: the roller acts).
    # The user hash leaves out the image build: a pod differing only by it awaits the
    # maintenance window, anything else the user asked for rolls at once.
    config_hash = _digest(restart_config(spec.config, pool, opts.dynamic_settings))
    without_build = {**container, "image": f"{opts.image}:{spec.kafka_version}"}
    user_hash = _digest([{**pod_spec, "containers": [without_build]}, config_hash])
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(sts_name, spec, {names.LABEL_POOL: pool}),
        "spec": {
            "serviceName": service,
            "replicas": replicas,
            # Nodes of a KRaft cluster must start together: the quorum needs a majority.
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "OnDelete"},
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": {
                        **names.labels(spec.project_id, spec.cluster_id, spec.uid),
                        **selector,
                    },
                    "annotations": {
                        names.ANNOTATION_RESTART_CONFIG: config_hash,
                        names.ANNOTATION_USER_HASH: user_hash,
                    },
                },
                "spec": pod_spec,
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": f"{storage_gib}Gi"}},
                    },
                }
            ],
        },
    }


def _service(
    spec: ClusterSpec, name: str, pool: str, ports: list[tuple[str, int]], headless: bool
) -> Manifest:
    body: dict[str, Any] = {
        "selector": _pod_labels(spec, pool),
        "ports": [{"name": n, "port": p, "targetPort": p} for n, p in ports],
    }
    if headless:
        # Per-pod DNS must exist before the pods are ready: the quorum forms through it.
        body["clusterIP"] = "None"
        body["publishNotReadyAddresses"] = True
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, spec), "spec": body}


def _pdb(spec: ClusterSpec, pool: str) -> Manifest:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(f"kafka-{pool}", spec),
        "spec": {
            "maxUnavailable": 1,
            "selector": _pods_of(spec, pool),
        },
    }


def _tcp(port: int) -> dict[str, Any]:
    return {"protocol": "TCP", "port": port}


def _network_policy(spec: ClusterSpec, pool: str, ingress: list[dict[str, Any]]) -> Manifest:
    """The only traffic a pool's pods accept; anything else is dropped (a pod selected by an
    Ingress policy admits only what one of its rules allows)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(f"kafka-{pool}", spec),
        "spec": {
            "podSelector": _pods_of(spec, pool),
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
    }


def network_policies(spec: ClusterSpec) -> list[Manifest]:
    """Clients reach the brokers' client port from anywhere (the bootstrap Service, the
    workers' Admin clients); the replication port only from the cluster's own brokers; the
    controllers only from the cluster's own nodes (the quorum, the brokers' metadata fetches).
    Probes run inside the pod (kafka-ready on 127.0.0.1) and need no rule."""
    return [
        _network_policy(
            spec,
            "controller",
            [{"from": [{"podSelector": _pods_of(spec)}], "ports": [_tcp(names.CONTROLLER_PORT)]}],
        ),
        _network_policy(
            spec,
            "broker",
            [
                {"ports": [_tcp(names.CLIENT_PORT)]},
                {
                    "from": [{"podSelector": _pods_of(spec, "broker")}],
                    "ports": [_tcp(names.REPLICATION_PORT)],
                },
            ],
        ),
    ]


def namespace(spec: ClusterSpec) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": names.namespace_of(spec.uid),
            "labels": names.labels(spec.project_id, spec.cluster_id, spec.uid),
        },
    }


def secret(spec: ClusterSpec, opts: BuildOptions) -> Manifest:
    def b64(value: str) -> str:
        return base64.b64encode(value.encode()).decode()

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(names.SECRET, spec),
        "type": "Opaque",
        "data": {
            "cluster-id": b64(names.kafka_cluster_id(spec.uid)),
            "admin-username": b64(ADMIN_USERNAME),
            names.ADMIN_PASSWORD_KEY: b64(opts.admin_password),
        },
    }


def manifests(spec: ClusterSpec, opts: BuildOptions) -> list[Manifest]:
    """Every namespaced object of the cluster, in the order they should be applied."""
    controller_pool = _pool(
        spec,
        opts,
        pool="controller",
        replicas=spec.controller_count,
        memory_mib=opts.controller_memory_mib,
        cpu=0.25,
        storage_gib=opts.controller_storage_gib,
    )
    broker_pool = _pool(
        spec,
        opts,
        pool="broker",
        replicas=max(spec.broker_count, opts.broker_pods or 0),
        memory_mib=int(spec.memory_gib * 1024),
        cpu=spec.cpu,
        storage_gib=opts.claim_template_gib or spec.storage_gib,
    )
    return [
        secret(spec, opts),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(names.CONFIGMAP, spec),
            "data": {"server.properties": server_properties(spec.config)},
        },
        _service(
            spec, names.CONTROLLERS_SVC, "controller", [("controller", names.CONTROLLER_PORT)], True
        ),
        _service(
            spec,
            names.BROKERS_SVC,
            "broker",
            [("clients", names.CLIENT_PORT), ("replication", names.REPLICATION_PORT)],
            True,
        ),
        _service(spec, names.BOOTSTRAP_SVC, "broker", [("clients", names.CLIENT_PORT)], False),
        _pdb(spec, "controller"),
        _pdb(spec, "broker"),
        *network_policies(spec),
        controller_pool,
        broker_pool,
    ]
