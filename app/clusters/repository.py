"""Every SQL statement about clusters."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.core.pagination import AnySelect
from app.core.pools import Connection
from app.core.sql import fetch_resource, listed_columns, resource_select, split
from app.core.unit import Unit
from app.models import Cluster, ResourceStatus

_LIST = select(*listed_columns(Cluster)).outerjoin(
    ResourceStatus, ResourceStatus.resource_uid == Cluster.uid
)
_GET = resource_select(Cluster, "project_id", "cluster_id")
_LOCK = _GET + " FOR UPDATE OF r"
_MAX_REPLICATION_FACTOR = (
    "SELECT coalesce(max(replication_factor), 0) FROM topics "
    "WHERE cluster_uid = $1 AND delete_time IS NULL"
)


async def get(
    connection: Connection, project_id: str, cluster_id: str
) -> tuple[Cluster, ResourceStatus | None] | None:
    """The cluster and its status."""
    return await fetch_resource(connection, _GET, project_id, cluster_id)


async def lock(
    unit: Unit, project_id: str, cluster_id: str
) -> tuple[Cluster, ResourceStatus | None] | None:
    """The cluster and its status, locked for a change whose checks read what is inside it."""
    record = await unit.lock(_LOCK, project_id, cluster_id)
    return None if record is None else split(record)


def list_query(project_id: str) -> AnySelect:
    return _LIST.where(Cluster.project_id == project_id)


async def max_replication_factor(connection: Connection, cluster_uid: uuid.UUID) -> int:
    return int(await connection.fetchval(_MAX_REPLICATION_FACTOR, cluster_uid))
