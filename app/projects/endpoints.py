"""HTTP surface of projects, tokens, the audit log and the list of Kafka versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.core import audit
from app.core.auth import PrincipalDep, Role, authorize, require_admin
from app.core.boundary import MutationDep
from app.core.http import EtagQuery, IfMatch, IfNoneMatch, Params, UpdateMask, cached_or
from app.core.idempotency import Result
from app.core.kafka_config import kafka_versions
from app.core.pagination import Collection, paginate
from app.core.pools import connection
from app.core.resource import check_etag, parse_update_mask
from app.core.responses import Json
from app.core.sql import fetch_rows
from app.core.unit import Unit
from app.models import AuditRecord, Project, Token
from app.projects import repository, service
from app.projects.schemas import (
    AuditLogList,
    KafkaVersionList,
    ProjectIn,
    ProjectList,
    ProjectOut,
    TokenIn,
    TokenList,
    TokenOut,
)

router = APIRouter(tags=["projects"])

PROJECTS = Collection(
    id_column=Project.id,
    uid_column=Project.uid,
    order_fields={"name": Project.id, "create_time": Project.create_time},
    default_order="name",
    filters={},
    labels_column=Project.labels,
)
TOKENS = Collection(
    id_column=Token.token_id,
    uid_column=Token.uid,
    order_fields={"name": Token.token_id, "create_time": Token.create_time},
    default_order="name",
    filters={"role": lambda v: Token.role == v},
    labels_column=Token.labels,
)
AUDIT = Collection(
    id_column=AuditRecord.action,
    uid_column=AuditRecord.id,
    order_fields={"time": AuditRecord.id},
    default_order="time desc",
    filters={
        "action": lambda v: AuditRecord.action == v,
        "principal": lambda v: AuditRecord.principal == v,
        "result": lambda v: AuditRecord.result == v,
        "request_id": lambda v: AuditRecord.request_id == v,
    },
)


@router.post("/v1/projects", operation_id="createProject", response_model=ProjectOut)
async def create_project(
    request: Request,
    body: ProjectIn,
    mutation: MutationDep,
    project_id: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    audit.set_target(request, f"projects/{project_id}", project_id[:63])
    require_admin(mutation.principal)

    async def mutate(unit: Unit) -> Result:
        return Result(service.project_body(service.create_project(unit, project_id, body)))

    return await mutation.run(mutate)


@router.get("/v1/projects/{project}", operation_id="getProject", response_model=ProjectOut)
async def get_project(
    project: str, request: Request, principal: PrincipalDep, if_none_match: IfNoneMatch = None
) -> Response:
    authorize(principal, project, Role.VIEWER)
    async with connection(request) as conn:
        row = await service.get_project(conn, project)
    return cached_or(service.project_body(row), if_none_match)


@router.get("/v1/projects", operation_id="listProjects", response_model=ProjectList)
async def list_projects(request: Request, principal: PrincipalDep, params: Params) -> Response:
    query, finish = paginate(
        repository.list_projects(principal.project_id),
        PROJECTS,
        params,
        principal.subject,
        "projects",
        lambda p, f: getattr(p, {"name": "id"}.get(f) or f),
    )
    async with connection(request) as conn:
        page = finish(await fetch_rows(conn, query))
    return Json(
        {
            "projects": [service.project_body(p) for p in page.rows],
            "next_page_token": page.next_page_token,
        }
    )


@router.patch("/v1/projects/{project}", operation_id="updateProject", response_model=ProjectOut)
async def update_project(
    project: str,
    body: ProjectIn,
    mutation: MutationDep,
    update_mask: UpdateMask = None,
    etag: EtagQuery = None,
    if_match: IfMatch = None,
) -> Response:
    mutation.authorize(project, Role.OWNER)

    async def mutate(unit: Unit) -> Result:
        row = await service.get_project(unit.connection, project)
        check_etag(service.project_body(row)["etag"], body.etag, etag, if_match)
        fields = parse_update_mask(update_mask, body.model_fields_set, {"display_name", "labels"})
        service.update_project(unit, row, body, fields)
        return Result(service.project_body(row))

    return await mutation.run(mutate)


@router.delete("/v1/projects/{project}", operation_id="deleteProject", response_model=ProjectOut)
async def delete_project(
    project: str,
    mutation: MutationDep,
    etag: EtagQuery = None,
    if_match: IfMatch = None,
) -> Response:
    require_admin(mutation.principal)

    async def mutate(unit: Unit) -> Result:
        row = await service.lock_project(unit, project)
        out = service.project_body(row)
        check_etag(out["etag"], None, etag, if_match)
        await service.delete_project(unit, row)
        return Result(out)

    return await mutation.run(mutate)


# --- tokens -------------------------------------------------------------------------------


@router.post("/v1/projects/{project}/tokens", operation_id="createToken", response_model=TokenOut)
async def create_token(
    project: str,
    request: Request,
    body: TokenIn,
    mutation: MutationDep,
    token_id: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    audit.set_target(request, f"projects/{project}/tokens/{token_id}")
    mutation.authorize(project, Role.OWNER)

    async def mutate(unit: Unit) -> Result:
        token, secret = await service.create_token(unit, project, token_id, body)
        return Result(service.token_body(token, secret), secret=True)

    return await mutation.run(mutate)


@router.get(
    "/v1/projects/{project}/tokens/{token}", operation_id="getToken", response_model=TokenOut
)
async def get_token(
    project: str,
    token: str,
    request: Request,
    principal: PrincipalDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    authorize(principal, project, Role.OWNER)
    async with connection(request) as conn:
        row = await service.get_token(conn, project, token)
    return cached_or(service.token_body(row), if_none_match)


@router.get("/v1/projects/{project}/tokens", operation_id="listTokens", response_model=TokenList)
async def list_tokens(
    project: str, request: Request, principal: PrincipalDep, params: Params
) -> Response:
    authorize(principal, project, Role.OWNER)
    query, finish = paginate(
        repository.list_tokens(project),
        TOKENS,
        params,
        principal.subject,
        f"projects/{project}/tokens",
        lambda t, f: getattr(t, {"name": "token_id"}.get(f) or f),
    )
    async with connection(request) as conn:
        await service.get_project(conn, project)
        page = finish(await fetch_rows(conn, query))
    return Json(
        {
            "tokens": [service.token_body(t) for t in page.rows],
            "next_page_token": page.next_page_token,
        }
    )


@router.patch(
    "/v1/projects/{project}/tokens/{token}", operation_id="updateToken", response_model=TokenOut
)
async def update_token(
    project: str,
    token: str,
    body: TokenIn,
    mutation: MutationDep,
    update_mask: UpdateMask = None,
    etag: EtagQuery = None,
    if_match: IfMatch = None,
) -> Response:
    mutation.authorize(project, Role.OWNER)

    async def mutate(unit: Unit) -> Result:
        row = await service.get_token(unit.connection, project, token)
        check_etag(service.token_body(row)["etag"], body.etag, etag, if_match)
        fields = parse_update_mask(update_mask, body.model_fields_set, {"role", "labels"})
        service.update_token(unit, row, body, fields)
        return Result(service.token_body(row))

    return await mutation.run(mutate)


@router.delete(
    "/v1/projects/{project}/tokens/{token}", operation_id="deleteToken", response_model=TokenOut
)
async def delete_token(
    project: str,
    token: str,
    mutation: MutationDep,
    etag: EtagQuery = None,
    if_match: IfMatch = None,
) -> Response:
    mutation.authorize(project, Role.OWNER)

    async def mutate(unit: Unit) -> Result:
        row = await service.get_token(unit.connection, project, token)
        out = service.token_body(row)
        check_etag(out["etag"], None, etag, if_match)
        service.delete_token(unit, row)
        return Result(out)

    return await mutation.run(mutate)


# --- audit log and versions -----------------------------------------------------------------


@router.get(
    "/v1/projects/{project}/audit_logs", operation_id="listAuditLogs", response_model=AuditLogList
)
async def list_audit_logs(
    project: str, request: Request, principal: PrincipalDep, params: Params
) -> Response:
    authorize(principal, project, Role.OWNER)
    query, finish = paginate(
        repository.list_audit(project),
        AUDIT,
        params,
        principal.subject,
        f"projects/{project}/audit_logs",
        lambda r, f: r.id,
    )
    async with connection(request) as conn:
        await service.get_project(conn, project)
        page = finish(await fetch_rows(conn, query))
    return Json(
        {
            "audit_logs": [service.audit_body(r) for r in page.rows],
            "next_page_token": page.next_page_token,
        }
    )


@router.get(
    "/v1/kafka_versions",
    operation_id="listKafkaVersions",
    response_model=KafkaVersionList,
    tags=["kafka_versions"],
)
async def list_kafka_versions(principal: PrincipalDep) -> Response:
    versions = kafka_versions()
    return Json(
        {
            "kafka_versions": [
                {
                    "version": v.version,
                    "upgradable_to": list(v.upgradable_to),
                    "default": v.version == versions.default,
                    "metadata_version": v.metadata_version,
                }
                for v in versions.versions.values()
            ]
        }
    )
