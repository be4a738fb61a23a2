"""HTTP surface of clusters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.clusters import repository, service, views
from app.clusters.schemas import WRITABLE, ClusterIn, ClusterList, ClusterOut
from app.core import audit
from app.core.audit import request_id_of
from app.core.auth import PrincipalDep, Role, authorize
from app.core.boundary import MutationDep
from app.core.http import EtagQuery, IfMatch, IfNoneMatch, Params, UpdateMask, cached_or
from app.core.idempotency import Result
from app.core.pagination import Collection, paginate
from app.core.pools import connection
from app.core.resource import check_etag, parse_update_mask, state_expression
from app.core.responses import Json
from app.core.sql import fetch_listed
from app.core.unit import Unit
from app.models import Cluster
from app.operations import views as operation_views
from app.operations.schemas import OperationOut

router = APIRouter(prefix="/v1/projects/{project}/clusters", tags=["clusters"])

COLLECTION = Collection(
    id_column=Cluster.cluster_id,
    uid_column=Cluster.uid,
    order_fields={
        "name": Cluster.cluster_id,
        "create_time": Cluster.create_time,
        "update_time": Cluster.update_time,
    },
    default_order="name",
    filters={
        "state": lambda v: state_expression(Cluster) == v,
        "kafka_version": lambda v: Cluster.kafka_version == v,
    },
    labels_column=Cluster.labels,
)


def _sort_value(row: Any, field: str) -> object:
    return getattr(row[0], {"name": "cluster_id"}.get(field) or field)


@router.post("", operation_id="createCluster", response_model=OperationOut)
async def create_cluster(
    project: str,
    request: Request,
    body: ClusterIn,
    mutation: MutationDep,
    cluster_id: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    audit.set_target(request, views.name_of(project, cluster_id))
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        op = await service.create(unit, project, cluster_id, body, request_id_of(request))
        return Result(operation_views.body(op))

    return await mutation.run(mutate)


@router.get("/{cluster}", operation_id="getCluster", response_model=ClusterOut)
async def get_cluster(
    project: str,
    cluster: str,
    request: Request,
    principal: PrincipalDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    authorize(principal, project, Role.VIEWER)
    async with connection(request) as conn:
        row, status = await service.get(conn, project, cluster)
    return cached_or(views.body(row, status), if_none_match)


@router.get("", operation_id="listClusters", response_model=ClusterList)
async def list_clusters(
    project: str, request: Request, principal: PrincipalDep, params: Params
) -> Response:
    authorize(principal, project, Role.VIEWER)
    async with connection(request) as conn:
        query, finish = paginate(
            repository.list_query(project),
            COLLECTION,
            params,
            principal.subject,
            f"projects/{project}/clusters",
            _sort_value,
        )
        page = finish(await fetch_listed(conn, query))
        return Json(
            {
                "clusters": [views.body(*r) for r in page.rows],
                "next_page_token": page.next_page_token,
            }
        )


@router.patch("/{cluster}", operation_id="updateCluster", response_model=OperationOut)
async def update_cluster(
    project: str,
    cluster: str,
    request: Request,
    body: ClusterIn,
    mutation: MutationDep,
    update_mask: UpdateMask = None,
    etag: EtagQuery = None,
    if_match: IfMatch = None,
) -> Response:
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        found = await repository.lock(unit, project, cluster)
        row, status = service.live(found, project, cluster)
        check_etag(views.body(row, status)["etag"], body.etag, etag, if_match)
        fields = parse_update_mask(update_mask, body.model_fields_set, WRITABLE)
        op = await service.update(unit, row, status, body, fields, request_id_of(request))
        return Result(operation_views.body(op))

    return await mutation.run(mutate)


@router.delete("/{cluster}", operation_id="deleteCluster", response_model=OperationOut)
async def delete_cluster(
    project: str,
    cluster: str,
    request: Request,
    mutation: MutationDep,
    etag: EtagQuery = None,
    if_match: IfMatch = None,
) -> Response:
    mutation.authorize(project, Role.OWNER)

    async def mutate(unit: Unit) -> Result:
        row, status = await service.get(unit.connection, project, cluster)
        check_etag(views.body(row, status)["etag"], None, etag, if_match)
        op = await service.delete(unit, row, request_id_of(request))
        return Result(operation_views.body(op))

    return await mutation.run(mutate)
