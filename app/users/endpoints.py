"""HTTP surface of SCRAM users. The create and :rotatePassword responses are the only places a
password ever appears."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.clusters import service as clusters
from app.core import audit
from app.core.audit import request_id_of
from app.core.auth import PrincipalDep, Role, authorize
from app.core.boundary import MutationDep
from app.core.errors import invalid_field
from app.core.http import EtagQuery, IfMatch, IfNoneMatch, Params, UpdateMask, cached_or
from app.core.idempotency import Result
from app.core.pagination import Collection, paginate
from app.core.pools import connection
from app.core.resource import check_etag, parse_update_mask, state_expression
from app.core.responses import Json
from app.core.sql import fetch_listed
from app.core.unit import Unit
from app.models import User
from app.operations import views as operation_views
from app.operations.schemas import OperationOut, OperationWithSecret
from app.users import repository, service, views
from app.users.schemas import WRITABLE, RotatePasswordIn, UserIn, UserList, UserOut

router = APIRouter(prefix="/v1/projects/{project}/clusters/{cluster}/users", tags=["users"])

COLLECTION = Collection(
    id_column=User.user_id,
    uid_column=User.uid,
    order_fields={
        "name": User.user_id,
        "create_time": User.create_time,
        "update_time": User.update_time,
    },
    default_order="name",
    filters={"state": lambda v: state_expression(User) == v},
    labels_column=User.labels,
)


def _sort_value(row: Any, field: str) -> object:
    return getattr(row[0], {"name": "user_id"}.get(field) or field)


@router.post("", operation_id="createUser", response_model=OperationWithSecret)
async def create_user(
    project: str,
    cluster: str,
    request: Request,
    body: UserIn,
    mutation: MutationDep,
    user_id: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    audit.set_target(request, views.name_of(project, cluster, user_id))
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        parent = await clusters.parent(unit, project, cluster)
        op, password = await service.create(unit, parent, user_id, body, request_id_of(request))
        return Result({**operation_views.body(op), "password": password}, secret=True)

    return await mutation.run(mutate)


@router.get("/{user}", operation_id="getUser", response_model=UserOut)
async def get_user(
    project: str,
    cluster: str,
    user: str,
    request: Request,
    principal: PrincipalDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    authorize(principal, project, Role.VIEWER)
    async with connection(request) as conn:
        row, status = await service.get(conn, project, cluster, user)
    return cached_or(views.body(row, status), if_none_match)


@router.get("", operation_id="listUsers", response_model=UserList)
async def list_users(
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
                "users": [views.body(*r) for r in page.rows],
                "next_page_token": page.next_page_token,
            }
        )


@router.patch("/{user}", operation_id="updateUser", response_model=OperationOut)
async def update_user(
    project: str,
    cluster: str,
    user: str,
    request: Request,
    body: UserIn,
    mutation: MutationDep,
    update_mask: UpdateMask = None,
    etag: EtagQuery = None,
    if_match: IfMatch = None,
) -> Response:
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        await clusters.parent(unit, project, cluster)
        row, status = await service.get(unit.connection, project, cluster, user)
        check_etag(views.body(row, status)["etag"], body.etag, etag, if_match)
        if "password" in body.model_fields_set:
            raise invalid_field("password", "is write-only on create; use :rotatePassword")
        fields = parse_update_mask(update_mask, body.model_fields_set, WRITABLE)
        op = service.update(unit, row, status, body, fields, request_id_of(request))
        return Result(operation_views.body(op))

    return await mutation.run(mutate)


@router.post(
    "/{user}:rotatePassword", operation_id="rotateUserPassword", response_model=OperationWithSecret
)
async def rotate_password(
    project: str,
    cluster: str,
    user: str,
    request: Request,
    body: RotatePasswordIn,
    mutation: MutationDep,
    etag: EtagQuery = None,
    if_match: IfMatch = None,
) -> Response:
    """Set a new password (given, or generated when omitted); the old one stops working once
    the workers have pushed the new one."""
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        await clusters.parent(unit, project, cluster)
        row, status = await service.get(unit.connection, project, cluster, user)
        check_etag(views.body(row, status)["etag"], body.etag, etag, if_match)
        given = body.password.get_secret_value() if body.password is not None else None
        op, password = await service.rotate_password(unit, row, given, request_id_of(request))
        return Result({**operation_views.body(op), "password": password}, secret=True)

    return await mutation.run(mutate)


@router.delete("/{user}", operation_id="deleteUser", response_model=OperationOut)
async def delete_user(
    project: str,
    cluster: str,
    user: str,
    request: Request,
    mutation: MutationDep,
    etag: EtagQuery = None,
    if_match: IfMatch = None,
) -> Response:
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        row, status = await service.get(unit.connection, project, cluster, user)
        check_etag(views.body(row, status)["etag"], None, etag, if_match)
        op = await service.delete(unit, row, request_id_of(request))
        return Result(operation_views.body(op))

    return await mutation.run(mutate)
