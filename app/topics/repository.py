"""Every SQL statement about topics."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.core.pagination import AnySelect
from app.core.pools import Connection
from app.core.sql import child_select, fetch_resource, listed_columns
from app.models import ResourceStatus, Topic

_COLLIDING_ANY = (
    "SELECT collision_key, topic_id FROM topics WHERE cluster_uid = $1 "
    "AND collision_key = ANY($2::text[])"
)
_LIST = select(*listed_columns(Topic)).outerjoin(
    ResourceStatus, ResourceStatus.resource_uid == Topic.uid
)
_GET = child_select(Topic, "topic_id")


async def get(
    connection: Connection, project_id: str, cluster_id: str, topic_id: str
) -> tuple[Topic, ResourceStatus | None] | None:
    """The topic and its status, through the (cluster_uid, topic_id) unique index."""
    return await fetch_resource(connection, _GET, project_id, cluster_id, topic_id)


async def colliding_any(
    connection: Connection, cluster_uid: uuid.UUID, keys: list[str]
) -> dict[str, str]:
    """collision key -> name of the existing topic, for those of `keys` taken in the cluster."""
    records = await connection.fetch(_COLLIDING_ANY, cluster_uid, keys)
    return {r["collision_key"]: r["topic_id"] for r in records}


def list_query(cluster_uid: uuid.UUID) -> AnySelect:
    return _LIST.where(Topic.cluster_uid == cluster_uid)
