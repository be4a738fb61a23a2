"""Every SQL statement about projects, tokens and audit records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.core.pagination import AnySelect
from app.core.pools import Connection
from app.core.sql import fetch_one, row_of
from app.core.unit import Unit
from app.models import AuditRecord, Project, Token

_GET_PROJECT = "SELECT * FROM projects WHERE id = $1"
_HAS_CLUSTERS = "SELECT EXISTS (SELECT 1 FROM clusters WHERE project_id = $1)"
_GET_TOKEN = "SELECT * FROM tokens WHERE project_id = $1 AND token_id = $2"


async def get_project(connection: Connection, project_id: str) -> Any:
    return await fetch_one(connection, _GET_PROJECT, project_id)


async def lock_project(unit: Unit, project_id: str) -> Any:
    """The project, locked against a concurrent cluster create (see Unit.lock)."""
    return row_of(await unit.lock(_GET_PROJECT + " FOR UPDATE", project_id))


async def project_has_clusters(connection: Connection, project_id: str) -> bool:
    return bool(await connection.fetchval(_HAS_CLUSTERS, project_id))


def list_projects(project_id: str | None) -> AnySelect:
    query = select(*Project.__table__.columns)
    return query if project_id is None else query.where(Project.id == project_id)


async def get_token(connection: Connection, project_id: str, token_id: str) -> Any:
    return await fetch_one(connection, _GET_TOKEN, project_id, token_id)


def list_tokens(project_id: str) -> AnySelect:
    return select(*Token.__table__.columns).where(Token.project_id == project_id)


def list_audit(project_id: str) -> AnySelect:
    return select(*AuditRecord.__table__.columns).where(AuditRecord.project_id == project_id)
