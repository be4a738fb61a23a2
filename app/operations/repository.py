"""Every SQL statement about operations."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import AnySelect
from app.models import Operation


async def get(session: AsyncSession, project_id: str, operation_id: str) -> Operation | None:
    row = await session.execute(
        select(Operation).where(
            Operation.project_id == project_id, Operation.operation_id == operation_id
        )
    )
    return row.scalar_one_or_none()


def list_query(project_id: str) -> AnySelect:
    return select(Operation).where(Operation.project_id == project_id)


def new_operation_id() -> str:
    return f"op-{uuid.uuid4().hex}"


async def pending(session: AsyncSession, target_uid: uuid.UUID, verb: str) -> Operation | None:
    """An unfinished operation of `verb` on the resource, if any."""
    query = select(Operation).where(
        Operation.target_uid == target_uid, Operation.verb == verb, Operation.done.is_(False)
    )
    return (await session.execute(query.limit(1))).scalar_one_or_none()
