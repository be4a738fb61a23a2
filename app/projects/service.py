"""Rules of projects, tokens and the audit log. Never commits: the request boundary does."""

from __future__ import annotations

import uuid
from typing import Any

from app.core.auth import forget_cached_tokens, hash_secret, new_token_secret
from app.core.errors import already_exists, failed_precondition, not_found
from app.core.ids import resource_id_violations
from app.core.pools import Connection
from app.core.resource import label_violations, make_etag, raise_if, rfc3339
from app.core.unit import Unit
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


async def get_project(connection: Connection, project_id: str) -> Project:
    """The project, or 404."""
    project: Project | None = await repository.get_project(connection, project_id)
    if project is None:
        raise not_found("project", f"projects/{project_id}")
    return project


def create_project(unit: Unit, project_id: str, body: ProjectIn) -> Project:
    raise_if(resource_id_violations("project_id", project_id) + label_violations(body.labels))

    async def explain() -> Exception:
        return already_exists("project", f"projects/{project_id}")

    # An existing project of this id is refused by the write's primary key (no read before it).
    unit.on_conflict(explain)
    now = utcnow()
    return unit.add(
        Project,
        id=project_id,
        uid=uuid.uuid4(),
        display_name=body.display_name,
        labels=body.labels,
        create_time=now,
        update_time=now,
        version=1,
    )


def _update(unit: Unit, model: type[Any], row: Any, body: Any, fields: set[str]) -> None:
    """Stage the changed `fields` of a project or token (neither is reconciled: no generation)."""
    raise_if(label_violations(body.labels) if "labels" in fields else [])
    changed = {f: getattr(body, f) for f in fields if getattr(row, f) != getattr(body, f)}
    if changed:
        unit.change(model, row, **changed, update_time=utcnow())


def update_project(unit: Unit, project: Project, body: ProjectIn, fields: set[str]) -> None:
    _update(unit, Project, project, body, fields)


async def lock_project(unit: Unit, project_id: str) -> Project:
    """The project, locked: a cluster create's write waits for the unit (see delete_project)."""
    project: Project | None = await repository.lock_project(unit, project_id)
    if project is None:
        raise not_found("project", f"projects/{project_id}")
    return project


async def delete_project(unit: Unit, project: Project) -> None:
    """Delete a project (read with `lock_project`) that has no clusters."""
    if await repository.project_has_clusters(unit.connection, project.id):
        raise failed_precondition(
            "PROJECT_NOT_EMPTY", f"projects/{project.id} still has clusters; delete them first"
        )
    unit.remove(Project, project)


async def create_token(
    unit: Unit, project_id: str, token_id: str, body: TokenIn
) -> tuple[Token, str]:
    raise_if(resource_id_violations("token_id", token_id) + label_violations(body.labels))
    unit.hold(Project, await get_project(unit.connection, project_id), live=False)

    async def explain() -> Exception:
        return already_exists("token", f"projects/{project_id}/tokens/{token_id}")

    # An existing token of this id is refused by the write's unique index (no read before it).
    unit.on_conflict(explain)
    secret = new_token_secret()
    now = utcnow()
    token = unit.add(
        Token,
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
    return token, secret


async def get_token(connection: Connection, project_id: str, token_id: str) -> Token:
    token: Token | None = await repository.get_token(connection, project_id, token_id)
    if token is None:
        raise not_found("token", f"projects/{project_id}/tokens/{token_id}")
    return token


def update_token(unit: Unit, token: Token, body: TokenIn, fields: set[str]) -> None:
    _update(unit, Token, token, body, fields)
    unit.on_commit(_forget_tokens, once=_forget_tokens)


def delete_token(unit: Unit, token: Token) -> None:
    unit.remove(Token, token)
    unit.on_commit(_forget_tokens, once=_forget_tokens)


async def _forget_tokens() -> None:
    """A changed or deleted token must not authenticate from this process's cache any more."""
    forget_cached_tokens()
