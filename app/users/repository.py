"""Every SQL statement about users."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Tx
from app.core.fastread import child_select, fetch_resource, listed_columns
from app.core.pagination import AnySelect
from app.models import ResourceStatus, User

_LIST = select(*listed_columns(User)).outerjoin(
    ResourceStatus, ResourceStatus.resource_uid == User.uid
)
_GET = child_select(User, "user_id")


async def get(
    session: AsyncSession | Tx,
    project_id: str,
    cluster_id: str,
    user_id: str,
    for_update: bool = False,
) -> tuple[User, ResourceStatus | None] | None:
    if not for_update:
        return await fetch_resource(session, _GET, project_id, cluster_id, user_id)
    assert isinstance(session, AsyncSession), "a change of a user goes through the ORM"
    query = (
        select(User, ResourceStatus)
        .outerjoin(ResourceStatus, ResourceStatus.resource_uid == User.uid)
        .where(
            User.project_id == project_id, User.cluster_id == cluster_id, User.user_id == user_id
        )
    )
    if for_update:
        query = query.with_for_update(of=User)
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


def list_query(cluster_uid: uuid.UUID) -> AnySelect:
    return _LIST.where(User.cluster_uid == cluster_uid)
