"""HTTP surface of operations: get (with long-poll), list, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from app.core.auth import PrincipalDep, Role, authorize
from app.core.boundary import MutationDep
from app.core.http import IfNoneMatch, cached_or
from app.core.idempotency import Result
from app.core.pagination import Collection, ListParams, list_params, paginate
from app.core.pools import connection
from app.core.responses import Json
from app.core.sql import fetch_rows
from app.core.unit import Unit
from app.models import Operation
from app.operations import repository, service, views
from app.operations.schemas import OperationList, OperationOut

router = APIRouter(prefix="/v1/projects/{project}/operations", tags=["operations"])

COLLECTION = Collection(
    id_column=Operation.operation_id,
    uid_column=Operation.uid,
    order_fields={"create_time": Operation.create_time, "name": Operation.operation_id},
    default_order="create_time desc",
    filters={
        "done": lambda v: Operation.done == (v.lower() == "true"),
        "verb": lambda v: Operation.verb == v,
        "target": lambda v: (
            Operation.target.startswith(v[:-1], autoescape=True)
            if v.endswith("*")
            else Operation.target == v
        ),
    },
)


@router.get("/{operation}", operation_id="getOperation", response_model=OperationOut)
async def get_operation(
    project: str,
    operation: str,
    request: Request,
    principal: PrincipalDep,
    wait_seconds: Annotated[
        float, Query(ge=0, le=60, description="Long-poll up to this many seconds until done.")
    ] = 0,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The Operation; 304 when `If-None-Match` names its current etag (a console or CLI polling
    for progress pays for a body only when the Operation changed)."""
    authorize(principal, project, Role.VIEWER)
    op = await service.wait(request.app.state.pool, project, operation, wait_seconds)
    return cached_or(views.body(op), if_none_match)


@router.get("", operation_id="listOperations", response_model=OperationList)
async def list_operations(
    project: str,
    request: Request,
    principal: PrincipalDep,
    params: Annotated[ListParams, Depends(list_params)],
) -> Response:
    authorize(principal, project, Role.VIEWER)
    query, finish = paginate(
        repository.list_query(project),
        COLLECTION,
        params,
        principal.subject,
        f"projects/{project}/operations",
        lambda op, field: getattr(op, {"name": "operation_id"}.get(field) or field),
    )
    async with connection(request) as conn:
        page = finish(await fetch_rows(conn, query))
    return Json(
        {
            "operations": [views.body(op) for op in page.rows],
            "next_page_token": page.next_page_token,
        }
    )


@router.post("/{operation}:cancel", operation_id="cancelOperation", response_model=OperationOut)
async def cancel_operation(project: str, operation: str, mutation: MutationDep) -> Response:
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        return Result(views.body(await service.cancel(unit, project, operation)))

    return await mutation.run(mutate)
