"""A cluster's resource body, rendered from its row and the workers' observed status. Pure:
the API and the workers both render with it."""

from __future__ import annotations

from typing import Any

from app.core.resource import common_fields
from app.models import Cluster, ResourceStatus


def name_of(project_id: str, cluster_id: str) -> str:
    return f"projects/{project_id}/clusters/{cluster_id}"


def body(c: Cluster, status: ResourceStatus | None) -> dict[str, Any]:
    data = status.data if status is not None else {}
    return {
        **common_fields(c, name_of(c.project_id, c.cluster_id), status),
        "kafka_version": c.kafka_version,
        "broker_count": c.broker_count,
        "controller_count": c.controller_count,
        "broker_resources": c.broker_resources,
        "storage_gib": c.storage_gib,
        "config": c.config,
        "maintenance_window": c.maintenance_window,
        "deletion_protection": c.deletion_protection,
        "bootstrap_servers": data.get("bootstrap_servers", ""),
        "brokers": data.get("brokers", []),
        "running_kafka_version": data.get("running_kafka_version", ""),
    }
