"""A user's resource body (never its password), rendered from its row and status. Pure: the API
and the workers both render with it."""

from __future__ import annotations

from typing import Any

from app.core.resource import common_fields
from app.models import ResourceStatus, User


def name_of(project_id: str, cluster_id: str, user_id: str) -> str:
    return f"projects/{project_id}/clusters/{cluster_id}/users/{user_id}"


def body(u: User, status: ResourceStatus | None) -> dict[str, Any]:
    return {
        **common_fields(u, name_of(u.project_id, u.cluster_id, u.user_id), status),
        "quotas": u.quotas,
        "principal": f"User:{u.user_id}",
    }
