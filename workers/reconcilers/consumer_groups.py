"""Carrying out the consumer group actions the API accepted (an offset reset, a deletion), one
cluster at a time, as named steps per action:

1. `check_empty`  — ask the brokers now: the group must exist and be EMPTY (a consumer that
                    joined since the request was accepted fails the Operation, never the
                    consumer);
2. `plan`         — the before/after table, from fresh offsets (the same pure planner the API's
                    `validate_only` uses), saved in the action row before anything is written,
                    so that a pass that died after the write repeats the same absolute write;
3. `write`        — alter the committed offsets (or delete the group); the brokers refuse this
                    too while the group has members;
4. `record`       — finish the Operation with the table as its response (or the refusal as its
                    error), write the audit record with every before/after offset, drop the
                    action row — in one commit.

Unreachable brokers requeue the pass; an action that could not be carried out for
`GIVE_UP_AFTER` fails with UNAVAILABLE rather than applying a stale request much later.

`sample_lag` is the lag history's sampler: every group's total and max lag on every running
cluster, one row each, and the rows older than the retention deleted (a bounded table).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from app.consumer_groups.views import (
    DELETE_VERB,
    EMPTY,
    Lag,
    Partition,
    ResetRefused,
    ResetRow,
    ResetSpec,
    lag_of,
    name_of,
    plan_reset,
    reset_body,
    select_partitions,
)
from app.core.secrets import admin_password
from app.models import (
    Cluster,
    ConsumerGroupAction,
    ConsumerGroupLagSample,
    Operation,
    ResourceStatus,
)
from app.models.base import utcnow
from workers import store
from workers.adapters.consumer_groups import GroupAdmin, GroupRefused
from workers.outcome import Outcome, Ready, RequeueAfter, TransientError

GIVE_UP_AFTER = timedelta(minutes=5)
RETRY_SECONDS = 3.0
# (bootstrap servers, admin password) -> a client of the cluster's groups
GroupAdminFactory = Callable[[str, str], GroupAdmin]
# A bound on one cluster's groups sampled per pass (the rest wait for a later pass).
MAX_GROUPS_SAMPLED = 5000
log = logging.getLogger("kplane.workers")


@dataclass(frozen=True)
class Refusal:
    """Why an action failed, as the Operation's error says it."""

    code: int
    status: str
    reason: str
    message: str


@dataclass(frozen=True)
class ActionResult:
    """What carrying out one action came to: a response, or a refusal."""

    response: dict[str, Any] | None
    refusal: Refusal | None
    audit_message: str


def _refused(reason: str, message: str) -> Refusal:
    if reason == "GROUP_NOT_FOUND":
        return Refusal(404, "NOT_FOUND", reason, message)
    return Refusal(400, "FAILED_PRECONDITION", reason, message)


def check_empty(admin: GroupAdmin, group: str) -> None:
    state = admin.state(group)
    if state is None:
        raise GroupRefused("GROUP_NOT_FOUND", f"consumer group {group!r} does not exist")
    if state != EMPTY:
        raise GroupRefused(
            "GROUP_NOT_EMPTY",
            f"consumer group {group!r} is {state}, not EMPTY: stop its consumers first",
        )


def plan(admin: GroupAdmin, group: str, spec: ResetSpec) -> list[ResetRow]:
    committed = admin.committed(group)
    counts = admin.partition_counts([t.topic for t in spec.topics])
    partitions = select_partitions(spec, committed, counts)
    bounds = admin.bounds(partitions)
    if any(p not in bounds for p in partitions):
        raise TransientError("the brokers gave no log offsets for some partitions")
    by_time = None
    if spec.to_timestamp is not None:
        by_time = admin.offsets_for_time(partitions, int(spec.to_timestamp.timestamp() * 1000))
    return plan_reset(spec, partitions, committed, bounds, by_time)


def _table(rows: Sequence[ResetRow]) -> str:
    return ", ".join(
        f"{r.partition.topic}/{r.partition.partition}: {r.before}->{r.after}" for r in rows
    )


def _planned(action: ConsumerGroupAction) -> list[ResetRow] | None:
    """The table an earlier pass planned and saved, if one did."""
    saved = action.spec.get("planned")
    if saved is None:
        return None
    return [ResetRow(Partition(r["topic"], r["partition"]), r["before"], r["after"]) for r in saved]


def carry_out(
    admin: GroupAdmin, action: ConsumerGroupAction, save: Callable[[list[ResetRow]], None]
) -> ActionResult:
    """Steps 1-3 for one action; TransientError propagates. The reset's table is saved
    (`save`, committed) before the write, and a later pass writes that same table: a pass
    that died after the write must not shift a group twice."""
    group = action.group_id
    try:
        if action.verb == DELETE_VERB:
            if admin.state(group) is None:  # gone already (deleted by an earlier pass)
                return ActionResult({}, None, f"consumer group {group!r} was already gone")
            check_empty(admin, group)
            admin.delete(group)
            return ActionResult({}, None, f"deleted consumer group {group!r}")
        check_empty(admin, group)
        rows = _planned(action)
        if rows is None:
            rows = plan(admin, group, ResetSpec.from_json(action.spec))
            save(rows)
        admin.alter(group, {r.partition: r.after for r in rows})
    except (GroupRefused, ResetRefused) as refused:
        return ActionResult(None, _refused(refused.reason, refused.message), refused.message)
    body = reset_body(action.project_id, action.cluster_id, group, rows, validate_only=False)
    return ActionResult(body, None, f"reset offsets of {group!r}: {_table(rows)}")


def _save(session: Session, action: ConsumerGroupAction, rows: list[ResetRow]) -> None:
    table = reset_body(action.project_id, action.cluster_id, action.group_id, rows, False)
    action.spec = {**action.spec, "planned": table["offsets"]}
    session.commit()


def record(session: Session, action: ConsumerGroupAction, done: ActionResult, rid: str) -> None:
    """Step 4: the Operation finished, the audit record, the action row gone."""
    now = utcnow()
    values: dict[str, Any] = {
        "done": True,
        "end_time": now,
        "update_time": now,
        "progress_percent": 100,
        "version": Operation.version + 1,
    }
    if done.refusal is None:
        values |= {"response": done.response, "status_message": "done"}
    else:
        r = done.refusal
        values |= {
            "status_message": r.message[:2000],
            "error": {
                "code": r.code,
                "status": r.status,
                "message": r.message[:2000],
                "details": [
                    {"@type": "ErrorInfo", "reason": r.reason, "domain": "kplane", "metadata": {}}
                ],
            },
        }
    session.execute(update(Operation).where(Operation.uid == action.operation_uid).values(values))
    verb = "deleteConsumerGroup" if action.verb == DELETE_VERB else "resetConsumerGroupOffsets"
    outcome = "applied" if done.refusal is None else f"refused ({done.refusal.reason})"
    store.audit(
        session,
        action.project_id,
        f"consumer_groups.{verb}",
        name_of(action.project_id, action.cluster_id, action.group_id),
        f"{outcome}: {done.audit_message}",
        rid,
    )
    session.execute(delete(ConsumerGroupAction).where(ConsumerGroupAction.uid == action.uid))


def apply(
    session: Session,
    admin_of: GroupAdminFactory,
    secret_key: bytes,
    cluster_uid: uuid.UUID,
    reconcile_id: str,
) -> Outcome:
    """Carry out every pending action of the cluster, oldest first, committing each."""
    actions = session.scalars(
        select(ConsumerGroupAction)
        .where(ConsumerGroupAction.cluster_uid == cluster_uid)
        .order_by(ConsumerGroupAction.create_time)
    ).all()
    if not actions:
        return Ready("no consumer group action pending")
    found = store.cluster(session, cluster_uid)
    if found is None:
        return Ready("the cluster does not exist")
    cluster, status = found
    bootstrap = str((status.data or {}).get("bootstrap_servers", "")) if status else ""
    admin = admin_of(bootstrap, admin_password(secret_key, cluster.uid)) if bootstrap else None
    for action in actions:
        try:
            if admin is None:
                raise TransientError("the cluster has no running brokers")
            done = carry_out(admin, action, partial(_save, session, action))
        except TransientError as exc:
            if utcnow() - action.create_time < GIVE_UP_AFTER:
                session.rollback()
                return RequeueAfter(RETRY_SECONDS, f"transient: {exc}")
            message = f"the brokers did not answer for {GIVE_UP_AFTER}: {exc}"
            refusal = Refusal(503, "UNAVAILABLE", "BROKERS_UNAVAILABLE", message)
            done = ActionResult(None, refusal, message)
        record(session, action, done, reconcile_id)
        session.commit()
    return Ready(f"{len(actions)} consumer group action(s) carried out")


def running_clusters(session: Session) -> list[tuple[uuid.UUID, str]]:
    """(uid, bootstrap servers) of every cluster whose brokers are up."""
    rows = session.execute(
        select(Cluster.uid, ResourceStatus.data)
        .join(ResourceStatus, ResourceStatus.resource_uid == Cluster.uid)
        .where(Cluster.delete_time.is_(None), ResourceStatus.state.in_(("ACTIVE", "UPDATING")))
    ).all()
    out = []
    for uid, data in rows:
        bootstrap = str((data or {}).get("bootstrap_servers", ""))
        if bootstrap:
            out.append((uid, bootstrap))
    return out


def lags(admin: GroupAdmin) -> dict[str, Lag]:
    """Every group's lag now: one listing, the groups' offsets, one ListOffsets."""
    groups = admin.list_groups()[:MAX_GROUPS_SAMPLED]
    committed = admin.committed_of(groups)
    ends = admin.log_end({p for offsets in committed.values() for p in offsets})
    return {g: lag_of(offsets, dict(ends)) for g, offsets in committed.items()}


def sample_lag(
    session: Session,
    admin_of: GroupAdminFactory,
    secret_key: bytes,
    retention: timedelta,
    now: datetime,
) -> int:
    """One sample per group of every running cluster; returns how many were written. A
    cluster whose brokers do not answer is skipped this time (a gap, never a zero)."""
    written = 0
    for uid, bootstrap in running_clusters(session):
        try:
            found = lags(admin_of(bootstrap, admin_password(secret_key, uid)))
        except TransientError as exc:
            log.warning("lag sample of cluster %s skipped: %s", uid, exc)
            continue
        if found:
            session.execute(
                insert(ConsumerGroupLagSample),
                [
                    {
                        "cluster_uid": uid,
                        "group_id": group,
                        "time": now,
                        "total_lag": lag.total,
                        "max_lag": lag.max,
                    }
                    for group, lag in found.items()
                ],
            )
            written += len(found)
    session.execute(
        delete(ConsumerGroupLagSample).where(ConsumerGroupLagSample.time < now - retention)
    )
    session.commit()
    return written
