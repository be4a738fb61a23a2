"""HTTP surface of ACLs. The acl id contains a '/' (e.g. `topic/orders`), so it is matched as a
path, and custom verbs are the suffix after its last ':' (names cannot contain ':')."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.acls import repository, service, views
from app.acls.schemas import WRITABLE, AclEntry, AclIn, AclList, AclOut
from app.clusters import service as clusters
from app.core import audit
from app.core.audit import request_id_of
from app.core.auth import PrincipalDep, Role, authorize
from app.core.boundary import MutationDep
from app.core.errors import ApiError
from app.core.http import EtagQuery, IfMatch, IfNoneMatch, Params, UpdateMask, cached_or
from app.core.idempotency import Result
from app.core.pagination import Collection, paginate
from app.core.pools import connection
from app.core.resource import check_etag, parse_update_mask, state_expression
from app.core.responses import Json
from app.core.sql import fetch_listed
from app.core.unit import Unit
from app.models import Acl
from app.operations import views as operation_views
from app.operations.schemas import OperationOut

router = APIRouter(prefix="/v1/projects/{project}/clusters/{cluster}/acls", tags=["acls"])

COLLECTION = Collection(
    id_column=Acl.acl_id,
    uid_column=Acl.uid,
    order_fields={
        "name": Acl.acl_id,
        "create_time": Acl.create_time,
        "update_time": Acl.update_time,
    },
    default_order="name",
    filters={
        "state": lambda v: state_expression(Acl) == v,
        "resource_type": lambda v: Acl.resource_type == v,
        "pattern_type": lambda v: Acl.pattern_type == v,
    },
    labels_column=Acl.labels,
)


def _sort_value(row: Any, field: str) -> object:
    return getattr(row[0], {"name": "acl_id"}.get(field) or field)


def _require_etag(*given: str | None) -> None:
    if all(g is None for g in given):
        raise ApiError(
            400,
            "ETAG_REQUIRED",
            "an acl update must carry the current etag (body, query or If-Match)",
            status="FAILED_PRECONDITION",
        )


@router.post("", operation_id="createAcl", response_model=OperationOut)
async def create_acl(
    project: str,
    cluster: str,
    request: Request,
    body: AclIn,
    mutation: MutationDep,
    acl_id: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    audit.set_target(request, views.name_of(project, cluster, acl_id))
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        parent = await clusters.parent(unit, project, cluster)
        op = service.create(unit, parent, acl_id, body, request_id_of(request))
        return Result(operation_views.body(op))

    return await mutation.run(mutate)


@router.get("", operation_id="listAcls", response_model=AclList)
async def list_acls(
    project: str, cluster: str, request: Request, principal: PrincipalDep, params: Params
) -> Response:
    authorize(principal, project, Role.VIEWER)
    async with connection(request) as conn:
        parent, _ = await clusters.get(conn, project, cluster)
        query, finish = paginate(
            repository.list_query(parent.uid),
            COLLECTION,
            params,
            principal.subject,
            views.name_of(project, cluster, ""),
            _sort_value,
        )
        page = finish(await fetch_listed(conn, query))
        return Json(
            {
                "acls": [views.body(*r) for r in page.rows],
                "next_page_token": page.next_page_token,
            }
        )


@router.post("/{acl_id:path}:addAclEntry", operation_id="addAclEntry", response_model=OperationOut)
async def add_acl_entry(
    project: str,
    cluster: str,
    acl_id: str,
    request: Request,
    body: AclEntry,
    mutation: MutationDep,
) -> Response:
    """Add one entry (the body) without replacing the list, and without an etag: it changes only
    that entry. Creates the ACL when it does not exist; adding a present entry changes nothing."""
    audit.set_target(request, views.name_of(project, cluster, acl_id))
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        parent = await clusters.parent(unit, project, cluster)
        op = await service.add_entry(unit, parent, acl_id, body, request_id_of(request))
        return Result(operation_views.body(op))

    return await mutation.run(mutate)


@router.post(
    "/{acl_id:path}:removeAclEntry", operation_id="removeAclEntry", response_model=OperationOut
)
async def remove_acl_entry(
    project: str,
    cluster: str,
    acl_id: str,
    request: Request,
    body: AclEntry,
    mutation: MutationDep,
) -> Response:
    """Remove one entry (the body), without an etag; removing the last entry deletes the ACL.
    404 when the ACL has no such entry."""
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        await clusters.parent(unit, project, cluster)
        row, status = await service.get(unit.connection, project, cluster, acl_id)
        op = await service.remove_entry(unit, row, status, body, request_id_of(request))
        return Result(operation_views.body(op))

    return await mutation.run(mutate)


@router.get("/{acl_id:path}", operation_id="getAcl", response_model=AclOut)
async def get_acl(
    project: str,
    cluster: str,
    acl_id: str,
    request: Request,
    principal: PrincipalDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    authorize(principal, project, Role.VIEWER)
    async with connection(request) as conn:
        row, status = await service.get(conn, project, cluster, acl_id)
    return cached_or(views.body(row, status), if_none_match)


@router.patch("/{acl_id:path}", operation_id="updateAcl", response_model=OperationOut)
async def update_acl(
    project: str,
    cluster: str,
    acl_id: str,
    request: Request,
    body: AclIn,
    mutation: MutationDep,
    update_mask: UpdateMask = None,
    etag: EtagQuery = None,
    if_match: IfMatch = None,
) -> Response:
    mutation.authorize(project, Role.EDITOR)
    _require_etag(body.etag, etag, if_match)

    async def mutate(unit: Unit) -> Result:
        await clusters.parent(unit, project, cluster)
        row, status = await service.get(unit.connection, project, cluster, acl_id)
        check_etag(views.body(row, status)["etag"], body.etag, etag, if_match)
        fields = parse_update_mask(update_mask, body.model_fields_set, WRITABLE)
        op = service.update(unit, row, status, body, fields, request_id_of(request))
        return Result(operation_views.body(op))

    return await mutation.run(mutate)


@router.delete("/{acl_id:path}", operation_id="deleteAcl", response_model=OperationOut)
async def delete_acl(
    project: str,
    cluster: str,
    acl_id: str,
    request: Request,
    mutation: MutationDep,
    etag: EtagQuery = None,
    if_match: IfMatch = None,
) -> Response:
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        row, status = await service.get(unit.connection, project, cluster, acl_id)
        check_etag(views.body(row, status)["etag"], None, etag, if_match)
        op = await service.delete(unit, row, request_id_of(request))
        return Result(operation_views.body(op))

    return await mutation.run(mutate)
