"""Every SQL statement about acls."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.core.pagination import AnySelect
from app.core.pools import Connection
from app.core.sql import child_select, fetch_resource, listed_columns
from app.models import Acl, ResourceStatus

_LIST = select(*listed_columns(Acl)).outerjoin(
    ResourceStatus, ResourceStatus.resource_uid == Acl.uid
)
_GET = child_select(Acl, "acl_id")


async def get(
    connection: Connection, project_id: str, cluster_id: str, acl_id: str
) -> tuple[Acl, ResourceStatus | None] | None:
    """The user and its status, through the (cluster_uid, acl_id) unique index."""
    return await fetch_resource(connection, _GET, project_id, cluster_id, acl_id)


def list_query(cluster_uid: uuid.UUID) -> AnySelect:
    return _LIST.where(Acl.cluster_uid == cluster_uid)
