"""Every SQL statement about operations."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.core.pagination import AnySelect
from app.core.pools import Connection
from app.core.sql import fetch_one
from app.models import Operation

_GET = "SELECT * FROM operations WHERE project_id = $1 AND operation_id = $2"
_PENDING = "SELECT * FROM operations WHERE target_uid = $1 AND verb = $2 AND NOT done LIMIT 1"


async def get(connection: Connection, project_id: str, operation_id: str) -> Any:
    return await fetch_one(connection, _GET, project_id, operation_id)


def list_query(project_id: str) -> AnySelect:
    return select(*Operation.__table__.columns).where(Operation.project_id == project_id)


def new_operation_id() -> str:
    return f"op-{uuid.uuid4().hex}"


async def pending(connection: Connection, target_uid: uuid.UUID, verb: str) -> Any:
    """An unfinished operation of `verb` on the resource, if any."""
    return await fetch_one(connection, _PENDING, target_uid, verb)
