"""Every SQL statement about projects, tokens and audit records."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import AnySelect
from app.models import AuditRecord, Cluster, Project, Token


async def get_project(session: AsyncSession, project_id: str) -> Project | None:
    return await session.get(Project, project_id)


async def lock_project(session: AsyncSession, project_id: str) -> Project | None:
    result = await session.execute(
        select(Project).where(Project.id == project_id).with_for_update()
    )
    return result.scalar_one_or_none()


async def project_has_clusters(session: AsyncSession, project_id: str) -> bool:
    query = select(exists().where(Cluster.project_id == project_id))
    return bool((await session.execute(query)).scalar())


def list_projects(project_id: str | None) -> AnySelect:
    query = select(Project)
    return query if project_id is None else query.where(Project.id == project_id)


async def get_token(session: AsyncSession, project_id: str, token_id: str) -> Token | None:
    result = await session.execute(
        select(Token).where(Token.project_id == project_id, Token.token_id == token_id)
    )
    return result.scalar_one_or_none()


def list_tokens(project_id: str) -> AnySelect:
    return select(Token).where(Token.project_id == project_id)


def list_audit(project_id: str) -> AnySelect:
    return select(AuditRecord).where(AuditRecord.project_id == project_id)
