"""An ACL's resource body, rendered from its row and status. Pure: the API and the workers
both render with it."""

from __future__ import annotations

from typing import Any

from app.core.resource import common_fields
from app.models import Acl, ResourceStatus


def name_of(project_id: str, cluster_id: str, acl_id: str) -> str:
    return f"projects/{project_id}/clusters/{cluster_id}/acls/{acl_id}"


def body(a: Acl, status: ResourceStatus | None) -> dict[str, Any]:
    return {
        **common_fields(a, name_of(a.project_id, a.cluster_id, a.acl_id), status),
        "acl_entries": a.acl_entries,
        "resource_type": a.resource_type,
        "pattern_type": a.pattern_type,
        "resource_name": a.resource_name,
    }
