"""Names, labels and identities of one Kafka cluster's Kubernetes objects.

Everything is derived from the cluster's uid, so a worker that lost all memory of a cluster
renders exactly the same objects again (level-triggered, nothing to look up first).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from typing import Any

MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_PROJECT = "kplane.io/project"
LABEL_CLUSTER = "kplane.io/cluster"
LABEL_CLUSTER_UID = "kplane.io/cluster-uid"
LABEL_POOL = "kplane.io/pool"
FIELD_MANAGER = "kplane"
# Pod template annotations the roller reads (see builders.cluster._pool).
ANNOTATION_RESTART_CONFIG = "kplane.io/restart-config-hash"
ANNOTATION_USER_HASH = "kplane.io/user-change-hash"
# The StatefulSet controller's label: the revision of the template a pod was created from.
LABEL_REVISION = "controller-revision-hash"

SECRET = "kafka-internal"
# The key of the control plane's broker password in that Secret.
ADMIN_PASSWORD_KEY = "admin-password"
CONFIGMAP = "kafka-config"
CONTROLLERS = "kafka-controller"  # StatefulSet; pods kafka-controller-<n>
BROKERS = "kafka-broker"  # StatefulSet; pods kafka-broker-<n>
CONTROLLERS_SVC = "kafka-controllers"  # headless
BROKERS_SVC = "kafka-brokers"  # headless
BOOTSTRAP_SVC = "kafka-bootstrap"
BROKER_ID_OFFSET = 100
CLIENT_PORT = 9092
REPLICATION_PORT = 9091
CONTROLLER_PORT = 9093


def namespace_of(cluster_uid: uuid.UUID) -> str:
    """One namespace per cluster; by uid, since project + cluster ids may exceed 63 chars."""
    return f"kplane-{cluster_uid}"


def kafka_cluster_id(cluster_uid: uuid.UUID) -> str:
    """Kafka's cluster.id: 22 chars of URL-safe base64 of 16 bytes — the uid's own bytes."""
    return base64.urlsafe_b64encode(cluster_uid.bytes).decode().rstrip("=")


def admin_password_in(secret: Mapping[str, Any]) -> str:
    """The control plane's broker credential as the cluster's Secret (a Kubernetes object,
    base64 data) holds it: what clients outside the workers (tests, benchmarks) log in with."""
    return base64.b64decode(secret["data"][ADMIN_PASSWORD_KEY]).decode()


def labels(project_id: str, cluster_id: str, cluster_uid: uuid.UUID) -> dict[str, str]:
    """Labels every object of the cluster carries; pruning selects on these exactly."""
    return {
        MANAGED_BY: "kplane",
        LABEL_PROJECT: project_id,
        LABEL_CLUSTER: cluster_id,
        LABEL_CLUSTER_UID: str(cluster_uid),
    }


def broker_ids(broker_count: int) -> list[int]:
    return [BROKER_ID_OFFSET + i for i in range(broker_count)]
