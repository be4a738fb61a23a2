"""Every SQL statement about users."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.core.pagination import AnySelect
from app.core.pools import Connection
from app.core.sql import child_select, fetch_resource, listed_columns
from app.models import ResourceStatus, User

_LIST = select(*listed_columns(User)).outerjoin(
    ResourceStatus, ResourceStatus.resource_uid == User.uid
)
_GET = child_select(User, "user_id")


async def get(
    connection: Connection, project_id: str, cluster_id: str, user_id: str
) -> tuple[User, ResourceStatus | None] | None:
    """The user and its status, through the (cluster_uid, user_id) unique index."""
    return await fetch_resource(connection, _GET, project_id, cluster_id, user_id)


def list_query(cluster_uid: uuid.UUID) -> AnySelect:
    return _LIST.where(User.cluster_uid == cluster_uid)
