"""HTTP surface of topics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.clusters import service as clusters
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
from app.models import Topic
from app.operations import views as operation_views
from app.operations.schemas import OperationOut
from app.topics import repository, service, views
from app.topics.schemas import (
    WRITABLE,
    BatchCreateTopicsIn,
    BatchCreateTopicsOut,
    TopicIn,
    TopicList,
    TopicOut,
)

router = APIRouter(prefix="/v1/projects/{project}/clusters/{cluster}/topics", tags=["topics"])

COLLECTION = Collection(
    id_column=Topic.topic_id,
    uid_column=Topic.uid,
    order_fields={
        "name": Topic.topic_id,
        "create_time": Topic.create_time,
        "update_time": Topic.update_time,
    },
    default_order="name",
    filters={"state": lambda v: state_expression(Topic) == v},
    labels_column=Topic.labels,
)


def _sort_value(row: Any, field: str) -> object:
    return getattr(row[0], {"name": "topic_id"}.get(field) or field)


@router.post("", operation_id="createTopic", response_model=OperationOut)
async def create_topic(
    project: str,
    cluster: str,
    request: Request,
    body: TopicIn,
    mutation: MutationDep,
    topic_id: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    audit.set_target(request, views.name_of(project, cluster, topic_id))
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        op = await service.create(unit, project, cluster, topic_id, body, request_id_of(request))
        return Result(operation_views.body(op))

    return await mutation.run(mutate)


@router.post(
    ":batchCreate",
    operation_id="batchCreateTopics",
    response_model=BatchCreateTopicsOut,
    description="Create 1 to 1,000 topics at once (AIP-233), all or none: every entry is "
    "validated as a single create would be, and against the other entries (a repeated "
    "`topic_id`, or two names that collide on `.`/`_`). Violations name the entry, e.g. "
    "`requests[3].topic.partition_count`; existing topics are a 409 `ALREADY_EXISTS` naming "
    "them. The response lists one Operation per topic, in the order of `requests`. With a "
    "`request_id` / `Idempotency-Key`, a retry returns the whole first response.",
)
async def batch_create_topics(
    project: str,
    cluster: str,
    request: Request,
    body: BatchCreateTopicsIn,
    mutation: MutationDep,
) -> Response:
    audit.set_target(request, views.collection_of(project, cluster))
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        parent = await clusters.parent(unit, project, cluster)
        entries = [(r.topic_id, r.topic) for r in body.requests]
        ops = await service.create_many(unit, parent, entries, request_id_of(request))
        audit.set_targets(request, [op.target for op in ops])
        return Result({"operations": [operation_views.body(op) for op in ops]})

    return await mutation.run(mutate)


@router.get("/{topic}", operation_id="getTopic", response_model=TopicOut)
async def get_topic(
    project: str,
    cluster: str,
    topic: str,
    request: Request,
    principal: PrincipalDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    authorize(principal, project, Role.VIEWER)
    async with connection(request) as conn:
        row, status = await service.get(conn, project, cluster, topic)
    return cached_or(views.body(row, status), if_none_match)


@router.get("", operation_id="listTopics", response_model=TopicList)
async def list_topics(
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
                "topics": [views.body(*r) for r in page.rows],
                "next_page_token": page.next_page_token,
            }
        )


@router.patch("/{topic}", operation_id="updateTopic", response_model=OperationOut)
async def update_topic(
    project: str,
    cluster: str,
    topic: str,
    request: Request,
    body: TopicIn,
    mutation: MutationDep,
    update_mask: UpdateMask = None,
    etag: EtagQuery = None,
    if_match: IfMatch = None,
) -> Response:
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        parent = await clusters.parent(unit, project, cluster)
        row, status = await service.get(unit.connection, project, cluster, topic)
        check_etag(views.body(row, status)["etag"], body.etag, etag, if_match)
        fields = parse_update_mask(update_mask, body.model_fields_set, WRITABLE)
        op = service.update(unit, parent, row, status, body, fields, request_id_of(request))
        return Result(operation_views.body(op))

    return await mutation.run(mutate)


@router.delete("/{topic}", operation_id="deleteTopic", response_model=OperationOut)
async def delete_topic(
    project: str,
    cluster: str,
    topic: str,
    request: Request,
    mutation: MutationDep,
    etag: EtagQuery = None,
    if_match: IfMatch = None,
) -> Response:
    mutation.authorize(project, Role.EDITOR)

    async def mutate(unit: Unit) -> Result:
        row, status = await service.get(unit.connection, project, cluster, topic)
        check_etag(views.body(row, status)["etag"], None, etag, if_match)
        op = await service.delete(unit, row, request_id_of(request))
        return Result(operation_views.body(op))

    return await mutation.run(mutate)
