"""Rules of consumer groups: which cluster's brokers to ask, the list's filter and pages, and
the offset reset and deletion requests — both refused unless the group is EMPTY, checked on the
brokers when asked and again by the worker when it applies them. Never commits."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from app.clusters import service as clusters
from app.consumer_groups.brokers import WAVE_GROUPS, Brokers, Listing
from app.consumer_groups.schemas import ResetOffsetsIn
from app.consumer_groups.views import (
    DELETE_VERB,
    EMPTY,
    KIND,
    RESET_VERB,
    STATES,
    ObservedGroup,
    ResetRefused,
    ResetRow,
    ResetSpec,
    TopicSelection,
    name_of,
    plan_reset,
    select_partitions,
    target_uid,
)
from app.core.errors import FieldViolation, failed_precondition, invalid_field, not_found
from app.core.pagination import ListParams, decode_token, encode_token
from app.core.pools import Connection
from app.core.queue import enqueue_after_commit
from app.core.resource import raise_if
from app.core.secrets import admin_password
from app.core.settings import get_settings
from app.core.unit import Unit
from app.models import Cluster, ConsumerGroupAction, Operation
from app.models.base import utcnow
from app.operations import service as operations

TASK = "consumer_groups.apply"
MAX_LAG_SAMPLES = 10_000
_TERM = re.compile(r'^\s*(name|state)\s*(=|!=)\s*("(?:[^"\\]|\\.)*"|[A-Za-z0-9_.*-]+)\s*$')


async def brokers_of(
    connection: Connection, project_id: str, cluster_id: str
) -> tuple[Cluster, Brokers]:
    """The cluster and a reader of its brokers; a cluster without running brokers yet (or
    being deleted) has no groups to show: 400 FAILED_PRECONDITION."""
    cluster, status = await clusters.get(connection, project_id, cluster_id)
    bootstrap = str((status.data or {}).get("bootstrap_servers", "")) if status else ""
    if cluster.delete_time is not None or status is None or not bootstrap:
        raise failed_precondition(
            "CLUSTER_NOT_READY",
            f"projects/{project_id}/clusters/{cluster_id} has no running brokers yet",
        )
    password = admin_password(get_settings().credential_key, cluster.uid)
    return cluster, Brokers(cluster.uid, bootstrap, password)


@dataclass(frozen=True)
class GroupFilter:
    """A list's filter: `name = "prefix*"` (or an exact id) and `state = EMPTY`, ANDed."""

    terms: tuple[tuple[str, bool, str], ...]  # (field, negated, value)

    @classmethod
    def parse(cls, expression: str) -> GroupFilter:
        terms = []
        for term in re.split(r"\s+AND\s+", expression) if expression else []:
            match = _TERM.match(term)
            if match is None:
                raise invalid_field(
                    "filter", f'cannot parse {term!r}: name = "prefix*" or state = EMPTY'
                )
            field, op, raw = match.groups()
            value = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
            if field == "state" and value.upper() not in STATES:
                raise invalid_field("filter", f"state must be one of {', '.join(STATES)}")
            terms.append((field, op == "!=", value.upper() if field == "state" else value))
        return cls(tuple(terms))

    def keeps(self, listing: Listing) -> bool:
        for field, negated, value in self.terms:
            if field == "state":
                hit = listing.state == value
            elif value.endswith("*"):
                hit = listing.group_id.startswith(value[:-1])
            else:
                hit = listing.group_id == value
            if hit == negated:
                return False
        return True


@dataclass(frozen=True)
class Pager:
    """A list request's filter, order and position, checked before the brokers are asked."""

    keep: GroupFilter
    fingerprint: str
    after: str | None
    size: int

    @classmethod
    def parse(cls, params: ListParams, principal: str, parent: str) -> Pager:
        if params.order_by not in ("", "name"):
            raise invalid_field("order_by", "must be name")
        keep = GroupFilter.parse(params.filter)
        fingerprint = hashlib.sha256(
            orjson.dumps([principal, parent, params.filter, params.order_by])
        ).hexdigest()[:16]
        after = decode_token(params.page_token, fingerprint)[0] if params.page_token else None
        return cls(keep, fingerprint, after, params.page_size)

    def page(self, listings: list[Listing]) -> Page:
        kept = [g for g in listings if self.keep.keeps(g)]
        after = self.after
        rest = kept if after is None else [g for g in kept if g.group_id > after]
        if len(rest) <= self.size:
            return Page([g.group_id for g in rest], "", [], kept)
        page = [g.group_id for g in rest[: self.size]]
        return Page(
            page,
            encode_token(self.fingerprint, (page[-1], "")),
            rest[self.size : 2 * self.size],
            kept,
        )


@dataclass(frozen=True)
class Page:
    """One page of group ids (ordered by id), the next page's token, the next page's groups,
    and every group the filter keeps (all pages)."""

    group_ids: list[str]
    next_page_token: str
    next_groups: list[Listing]
    listed: list[Listing]


async def observe(brokers: Brokers, page: Page) -> list[ObservedGroup]:
    """The page's groups as the brokers describe them (`Brokers.observe`). A listing of at
    most WAVE_GROUPS groups is read whole, all at once, when its first page is asked for, and
    its other pages are served from that read (cached CACHE_SECONDS): a client walking the
    pages then waits for one wave of requests, not one per page in turn. A larger listing is
    read a page at a time, the next page read ahead (`prefetch`)."""
    if len(page.listed) <= WAVE_GROUPS:
        found = {g.group_id: g for g in await brokers.observe(page.listed)}
        return [found[g] for g in page.group_ids if g in found]
    wanted = set(page.group_ids)
    groups = await brokers.observe([g for g in page.listed if g.group_id in wanted])
    # A client walking the pages asks for the next one at once: read it meanwhile.
    brokers.prefetch(page.next_groups)
    return groups


def since(start_time: str | None) -> datetime:
    """The lag history's start: `start_time` (RFC 3339, with an offset), or the beginning."""
    if start_time is None:
        return datetime(1970, 1, 1, tzinfo=UTC)
    try:
        stamp = datetime.fromisoformat(start_time)
    except ValueError:
        raise invalid_field("start_time", "must be an RFC 3339 time") from None
    if stamp.tzinfo is None:
        raise invalid_field("start_time", "must carry a UTC offset")
    return stamp


def spec_of(body: ResetOffsetsIn) -> ResetSpec:
    """The reset asked for; 400 unless exactly one target is set."""
    targets = {
        "to_earliest": body.to_earliest,
        "to_latest": body.to_latest,
        "to_timestamp": body.to_timestamp,
        "to_offset": body.to_offset,
        "shift_by": body.shift_by,
    }
    given = [k for k, v in targets.items() if v is not None and v is not False]
    violations = []
    if len(given) != 1:
        violations.append(
            FieldViolation(
                "to_earliest" if not given else given[1],
                "exactly one of to_earliest, to_latest, to_timestamp, to_offset, shift_by "
                f"must be set (got {len(given)})",
            )
        )
    stamp = None
    if body.to_timestamp is not None:
        try:
            stamp = datetime.fromisoformat(body.to_timestamp)
        except ValueError:
            violations.append(FieldViolation("to_timestamp", "must be an RFC 3339 time"))
        else:
            if stamp.tzinfo is None:
                violations.append(FieldViolation("to_timestamp", "must carry a UTC offset"))
            stamp = stamp.astimezone(UTC) if stamp.tzinfo is not None else None
    for i, selection in enumerate(body.topics):
        if any(n < 0 for n in selection.partitions):
            violations.append(FieldViolation(f"topics[{i}].partitions", "must not be negative"))
    raise_if(violations)
    return ResetSpec(
        to_earliest=bool(body.to_earliest),
        to_latest=bool(body.to_latest),
        to_timestamp=stamp,
        to_offset=body.to_offset,
        shift_by=body.shift_by,
        topics=tuple(TopicSelection(t.topic, tuple(t.partitions)) for t in body.topics),
    )


async def require_empty(brokers: Brokers, project_id: str, cluster_id: str, group: str) -> None:
    """404 for a group the brokers do not have; FAILED_PRECONDITION unless it is EMPTY."""
    state = await brokers.state_of(group)
    if state is None:
        raise not_found(KIND, name_of(project_id, cluster_id, group))
    if state != EMPTY:
        raise failed_precondition(
            "GROUP_NOT_EMPTY",
            f"consumer group {group!r} is {state}, not EMPTY: stop its consumers first",
        )


async def preview(brokers: Brokers, group: str, spec: ResetSpec) -> list[ResetRow]:
    """The before/after table of `spec`, from a fresh read of the brokers."""
    committed = await brokers.committed(group)
    try:
        counts = await brokers.partition_counts([t.topic for t in spec.topics])
        partitions = select_partitions(spec, committed, counts)
        bounds = await brokers.bounds(partitions)
        gone = [p for p in partitions if p not in bounds]
        if gone:
            raise ResetRefused(
                "PARTITION_UNAVAILABLE",
                f"the brokers gave no offsets for {gone[0].topic}/{gone[0].partition}",
            )
        by_time = None
        if spec.to_timestamp is not None:
            epoch_ms = int(spec.to_timestamp.timestamp() * 1000)
            by_time = await brokers.offsets_for_time(partitions, epoch_ms)
        return plan_reset(spec, partitions, committed, bounds, by_time)
    except ResetRefused as refused:
        raise failed_precondition(refused.reason, refused.message) from None


def start(
    unit: Unit,
    cluster: Cluster,
    group: str,
    verb: str,
    spec: dict[str, Any],
    request_id: str,
) -> Operation:
    """The Operation of a reset or deletion, and the action row the worker carries out."""
    op = operations.start(
        unit,
        project_id=cluster.project_id,
        verb=verb,
        kind=KIND,
        target=name_of(cluster.project_id, cluster.cluster_id, group),
        target_uid=target_uid(cluster.uid, group),
        cluster_uid=cluster.uid,
        generation=0,
        request_id=request_id,
    )
    unit.add(
        ConsumerGroupAction,
        uid=uuid.uuid4(),
        operation_uid=op.uid,
        cluster_uid=cluster.uid,
        project_id=cluster.project_id,
        cluster_id=cluster.cluster_id,
        group_id=group,
        verb=verb,
        spec=spec,
        create_time=utcnow(),
    )
    enqueue_after_commit(unit, TASK, str(cluster.uid))
    return op


def start_reset(
    unit: Unit, cluster: Cluster, group: str, spec: ResetSpec, request_id: str
) -> Operation:
    return start(unit, cluster, group, RESET_VERB, spec.to_json(), request_id)


def start_delete(unit: Unit, cluster: Cluster, group: str, request_id: str) -> Operation:
    return start(unit, cluster, group, DELETE_VERB, {}, request_id)
