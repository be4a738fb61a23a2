"""A topic's resource body, rendered from its row and status. Pure: the API and the workers
both render with it."""

from __future__ import annotations

from typing import Any

from app.core.resource import common_fields
from app.models import ResourceStatus, Topic


def name_of(project_id: str, cluster_id: str, topic_id: str) -> str:
    return f"projects/{project_id}/clusters/{cluster_id}/topics/{topic_id}"


def collection_of(project_id: str, cluster_id: str) -> str:
    return f"projects/{project_id}/clusters/{cluster_id}/topics"


def body(t: Topic, status: ResourceStatus | None) -> dict[str, Any]:
    return {
        **common_fields(t, name_of(t.project_id, t.cluster_id, t.topic_id), status),
        "partition_count": t.partition_count,
        "replication_factor": t.replication_factor,
        "configs": t.configs,
    }
