"""HTTP surface of consumer groups: live reads from the brokers, and the reset and deletion
verbs (Operations the workers carry out)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from app.clusters import service as clusters
from app.consumer_groups import repository, service, views
from app.consumer_groups.schemas import (
    ConsumerGroupList,
    ConsumerGroupOut,
    LagHistoryOut,
    ResetOffsetsIn,
    ResetOffsetsResponse,
)
from app.core import audit
from app.core.audit import request_id_of
from app.core.auth import PrincipalDep, Role, authorize
from app.core.boundary import MutationDep
from app.core.errors import not_found
from app.core.http import Params
from app.core.idempotency import Result
from app.core.pools import connection
from app.core.responses import Json
from app.core.unit import Unit
from app.models import Cluster
from app.operations import views as operation_views
from app.operations.schemas import OperationOut

router = APIRouter(
    prefix="/v1/projects/{project}/clusters/{cluster}/consumer_groups", tags=["consumer_groups"]
)
GroupId = Annotated[str, Path(min_length=1, max_length=255)]


@router.get("", operation_id="listConsumerGroups", response_model=ConsumerGroupList)
async def list_consumer_groups(
    project: str, cluster: str, request: Request, principal: PrincipalDep, params: Params
) -> Response:
    """Live from the brokers (cached ~2 s). Filter: `name = "prefix*"`, `state = EMPTY`."""
    authorize(principal, project, Role.VIEWER)
    pager = service.Pager.parse(params, principal.subject, views.collection_of(project, cluster))
    async with connection(request) as conn:
        _, brokers = await service.brokers_of(conn, project, cluster)
    page = pager.page(await brokers.list_groups())
    groups = await service.observe(brokers, page)
    return Json(
        {
            "consumer_groups": [views.body(project, cluster, g) for g in groups],
            "next_page_token": page.next_page_token,
        }
    )


@router.post(
    "/{group:path}:resetOffsets",
    operation_id="resetConsumerGroupOffsets",
    response_model=ResetOffsetsResponse,
    description="Move an EMPTY group's committed offsets. Exactly one of `to_earliest`, "
    "`to_latest`, `to_timestamp`, `to_offset`, `shift_by`. With `validate_only`, the answer "
    "is the before/after table and nothing changes; otherwise an Operation, whose worker "
    "checks on the brokers that the group is still EMPTY before it writes (else the "
    "Operation fails with FAILED_PRECONDITION), and whose response is that table.",
)
async def reset_offsets(
    project: str,
    cluster: str,
    group: GroupId,
    request: Request,
    body: ResetOffsetsIn,
    mutation: MutationDep,
) -> Response:
    audit.set_target(request, views.name_of(project, cluster, group))
    mutation.authorize(project, Role.EDITOR)
    spec = service.spec_of(body)

    async def mutate(unit: Unit) -> Result:
        parent = await clusters.parent(unit, project, cluster)
        _, brokers = await service.brokers_of(unit.connection, project, cluster)
        await service.require_empty(brokers, project, cluster, group)
        rows = await service.preview(brokers, group, spec)
        if body.validate_only:
            return Result(views.reset_body(project, cluster, group, rows, validate_only=True))
        op = service.start_reset(unit, parent, group, spec, request_id_of(request))
        return Result(operation_views.body(op))

    return await mutation.run(mutate)


@router.get(
    "/{group:path}/lag_history",
    operation_id="getConsumerGroupLagHistory",
    response_model=LagHistoryOut,
)
async def get_lag_history(
    project: str,
    cluster: str,
    group: GroupId,
    request: Request,
    principal: PrincipalDep,
    start_time: Annotated[
        str | None, Query(max_length=64, description="RFC 3339; default: all that is kept.")
    ] = None,
) -> Response:
    """The group's total and max lag as the workers sampled them (every 30 s by default, kept
    24 h: KPLANE_WORKER_LAG_SAMPLE_SECONDS, KPLANE_WORKER_LAG_RETENTION_HOURS), oldest first,
    at most the latest 10,000 samples."""
    authorize(principal, project, Role.VIEWER)
    since = service.since(start_time)
    async with connection(request) as conn:
        parent, _ = await clusters.get(conn, project, cluster)
        samples = await repository.lag_history(
            conn, parent.uid, group, since, service.MAX_LAG_SAMPLES
        )
    return Json(views.lag_history_body(project, cluster, group, samples))


@router.get("/{group:path}", operation_id="getConsumerGroup", response_model=ConsumerGroupOut)
async def get_consumer_group(
    project: str, cluster: str, group: GroupId, request: Request, principal: PrincipalDep
) -> Response:
    """Live from the brokers (cached ~2 s)."""
    authorize(principal, project, Role.VIEWER)
    async with connection(request) as conn:
        _, brokers = await service.brokers_of(conn, project, cluster)
    found = await brokers.describe([group])
    if not found:
        raise not_found(views.KIND, views.name_of(project, cluster, group))
    return Json(views.body(project, cluster, found[0]))


@router.delete("/{group:path}", operation_id="deleteConsumerGroup", response_model=OperationOut)
async def delete_consumer_group(
    project: str, cluster: str, group: GroupId, request: Request, mutation: MutationDep
) -> Response:
    """Delete an EMPTY group (its committed offsets go with it), as an Operation."""
    audit.set_target(request, views.name_of(project, cluster, group))
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        parent: Cluster = await clusters.parent(unit, project, cluster)
        _, brokers = await service.brokers_of(unit.connection, project, cluster)
        await service.require_empty(brokers, project, cluster, group)
        op = service.start_delete(unit, parent, group, request_id_of(request))
        return Result(operation_views.body(op))

    return await mutation.run(mutate)
