"""Every SQL statement about topics."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Tx
from app.core.fastread import (
    child_select,
    fetch_all,
    fetch_resource,
    listed_columns,
)
from app.core.pagination import AnySelect
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
    session: AsyncSession,
    project_id: str,
    cluster_id: str,
    topic_id: str,
    for_update: bool = False,
) -> tuple[Topic, ResourceStatus | None] | None:
    if not for_update:
        return await fetch_resource(session, _GET, project_id, cluster_id, topic_id)
    query = (
        select(Topic, ResourceStatus)
        .outerjoin(ResourceStatus, ResourceStatus.resource_uid == Topic.uid)
        .where(
            Topic.project_id == project_id,
            Topic.cluster_id == cluster_id,
            Topic.topic_id == topic_id,
        )
    )
    if for_update:
        query = query.with_for_update(of=Topic)
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


async def colliding_any(
    session: AsyncSession | Tx, cluster_uid: uuid.UUID, keys: list[str]
) -> dict[str, str]:
    """collision key -> name of the existing topic, for those of `keys` taken in the cluster."""
    records = await fetch_all(session, _COLLIDING_ANY, cluster_uid, keys)
    return {r["collision_key"]: r["topic_id"] for r in records}


def list_query(cluster_uid: uuid.UUID) -> AnySelect:
    return _LIST.where(Topic.cluster_uid == cluster_uid)
