"""Rules of projects, tokens and the audit log. Never commits: the request boundary does."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import hash_secret, new_token_secret
from app.core.errors import already_exists, failed_precondition, not_found
from app.core.ids import resource_id_violations
from app.core.resource import label_violations, make_etag, raise_if, rfc3339
from app.models import AuditRecord, Project, Token
from app.models.base import utcnow
from app.projects import repository
from app.projects.schemas import ProjectIn, TokenIn


def project_body(p: Project) -> dict[str, Any]:
    return {
        "name": f"projects/{p.id}",
        "uid": str(p.uid),
        "create_time": rfc3339(p.create_time),
        "update_time": rfc3339(p.update_time),
        "display_name": p.display_name,
        "labels": p.labels,
        "etag": make_etag(p.uid, p.version),
    }


def token_body(t: Token, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f"projects/{t.project_id}/tokens/{t.token_id}",
        "uid": str(t.uid),
        "create_time": rfc3339(t.create_time),
        "update_time": rfc3339(t.update_time),
        "role": t.role,
        "labels": t.labels,
        "etag": make_etag(t.uid, t.version),
    }
    if secret is not None:
        out["secret"] = secret
    return out


def audit_body(r: AuditRecord) -> dict[str, Any]:
    return {
        "name": f"projects/{r.project_id}/audit_logs/{r.id}",
        "time": rfc3339(r.time),
        "principal": r.principal,
        "action": r.action,
        "target": r.target,
        "request_id": r.request_id,
        "result_code": r.result_code,
        "result": r.result,
        "message": r.message,
    }


async def get_project(session: AsyncSession, project_id: str, lock: bool = False) -> Project:
    """The project (row-locked for an update when `lock`), or 404."""
    read = repository.lock_project if lock else repository.get_project
    project = await read(session, project_id)
    if project is None:
        raise not_found("project", f"projects/{project_id}")
    return project


async def create_project(session: AsyncSession, project_id: str, body: ProjectIn) -> Project:
    raise_if(resource_id_violations("project_id", project_id) + label_violations(body.labels))
    if await repository.get_project(session, project_id) is not None:
        raise already_exists("project", f"projects/{project_id}")
    now = utcnow()
    project = Project(
        id=project_id,
        uid=uuid.uuid4(),
        display_name=body.display_name,
        labels=body.labels,
        create_time=now,
        update_time=now,
        version=1,
    )
    session.add(project)
    await session.flush()
    return project


async def update_project(
    session: AsyncSession, project: Project, body: ProjectIn, fields: set[str]
) -> Project:
    raise_if(label_violations(body.labels) if "labels" in fields else [])
    changed = False
    for field in fields:
        new = getattr(body, field)
        if getattr(project, field) != new:
            setattr(project, field, new)
            changed = True
    if changed:
        project.version += 1
        project.update_time = utcnow()
    return project


async def delete_project(session: AsyncSession, project: Project) -> None:
    if await repository.project_has_clusters(session, project.id):
        raise failed_precondition(
            "PROJECT_NOT_EMPTY", f"projects/{project.id} still has clusters; delete them first"
        )
    await session.delete(project)


async def create_token(
    session: AsyncSession, project_id: str, token_id: str, body: TokenIn
) -> tuple[Token, str]:
    raise_if(resource_id_violations("token_id", token_id) + label_violations(body.labels))
    await get_project(session, project_id)
    if await repository.get_token(session, project_id, token_id) is not None:
        raise already_exists("token", f"projects/{project_id}/tokens/{token_id}")
    secret = new_token_secret()
    now = utcnow()
    token = Token(
        uid=uuid.uuid4(),
        project_id=project_id,
        token_id=token_id,
        role=body.role,
        secret_hash=hash_secret(secret),
        labels=body.labels,
        create_time=now,
        update_time=now,
        version=1,
    )
    session.add(token)
    await session.flush()
    return token, secret


async def get_token(session: AsyncSession, project_id: str, token_id: str) -> Token:
    token = await repository.get_token(session, project_id, token_id)
    if token is None:
        raise not_found("token", f"projects/{project_id}/tokens/{token_id}")
    return token


async def update_token(token: Token, body: TokenIn, fields: set[str]) -> Token:
    raise_if(label_violations(body.labels) if "labels" in fields else [])
    changed = False
    for field in fields:
        new = getattr(body, field)
        if getattr(token, field) != new:
            setattr(token, field, new)
            changed = True
    if changed:
        token.version += 1
        token.update_time = utcnow()
    return token
