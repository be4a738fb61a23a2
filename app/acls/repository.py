"""Every SQL statement about ACLs."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Tx
from app.core.fastread import child_select, fetch_resource, listed_columns
from app.core.pagination import AnySelect
from app.models import Acl, ResourceStatus

_LIST = select(*listed_columns(Acl)).outerjoin(
    ResourceStatus, ResourceStatus.resource_uid == Acl.uid
)
_GET = child_select(Acl, "acl_id")


async def get(
    session: AsyncSession | Tx,
    project_id: str,
    cluster_id: str,
    acl_id: str,
    for_update: bool = False,
) -> tuple[Acl, ResourceStatus | None] | None:
    if not for_update:
        return await fetch_resource(session, _GET, project_id, cluster_id, acl_id)
    assert isinstance(session, AsyncSession), "a change of an acl goes through the ORM"
    query = (
        select(Acl, ResourceStatus)
        .outerjoin(ResourceStatus, ResourceStatus.resource_uid == Acl.uid)
        .where(Acl.project_id == project_id, Acl.cluster_id == cluster_id, Acl.acl_id == acl_id)
    )
    if for_update:
        query = query.with_for_update(of=Acl)
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


def list_query(cluster_uid: uuid.UUID) -> AnySelect:
    return _LIST.where(Acl.cluster_uid == cluster_uid)
