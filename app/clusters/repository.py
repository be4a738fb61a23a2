"""Every SQL statement about clusters."""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Tx
from app.core.fastread import fetch_resource, listed_columns, resource_select
from app.core.pagination import AnySelect
from app.models import Cluster, ResourceStatus, Topic

Lock = Literal["update", "share"] | None
_LIST = select(*listed_columns(Cluster)).outerjoin(
    ResourceStatus, ResourceStatus.resource_uid == Cluster.uid
)
_GET = resource_select(Cluster, "project_id", "cluster_id")
_GET_SHARE = _GET + " FOR SHARE OF r"


async def get(
    session: AsyncSession | Tx, project_id: str, cluster_id: str, lock: Lock = None
) -> tuple[Cluster, ResourceStatus | None] | None:
    """The cluster and its status; `lock` = "update" for changes to the cluster itself, "share"
    for changes inside it (topics, acls, users) that must not race a cluster change: a share
    lock in a session's transaction; for a create's Tx, a hold (its write statement takes the
    lock, and writes nothing if the cluster changed since this read)."""
    if lock is None:
        return await fetch_resource(session, _GET, project_id, cluster_id)
    if lock == "share" and isinstance(session, Tx):
        found = await fetch_resource(session, _GET, project_id, cluster_id)
        if found is not None:
            hold_cluster(session, found[0])
        return found
    if lock == "share":
        # Changes inside a cluster only read it: a plain row suffices, no ORM object.
        return await fetch_resource(session, _GET_SHARE, project_id, cluster_id)
    assert isinstance(session, AsyncSession), "a change of the cluster itself goes through the ORM"
    query = (
        select(Cluster, ResourceStatus)
        .outerjoin(ResourceStatus, ResourceStatus.resource_uid == Cluster.uid)
        .where(Cluster.project_id == project_id, Cluster.cluster_id == cluster_id)
        .with_for_update(of=Cluster)
    )
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


def hold_cluster(tx: Tx, cluster: Cluster) -> None:
    """The create in `tx` relies on `cluster` as read: unchanged and not being deleted."""
    tx.hold(Cluster.__tablename__, cluster.uid, cluster.version)


def list_query(project_id: str) -> AnySelect:
    return _LIST.where(Cluster.project_id == project_id)


async def max_replication_factor(session: AsyncSession, cluster_uid: uuid.UUID) -> int:
    query = select(func.coalesce(func.max(Topic.replication_factor), 0)).where(
        Topic.cluster_uid == cluster_uid, Topic.delete_time.is_(None)
    )
    return int((await session.execute(query)).scalar_one())
