"""Rules of long-running operations.

A mutation of a reconciled resource starts an Operation that the workers finish. Later changes
to the same resource do not abort earlier operations: every pending operation whose
`target_generation` the resource has reached completes with the resource — the newer change
supersedes the older one's intermediate state. A change that leaves the desired state as it was
finishes its operation at once. Mutations of a resource being deleted are refused (409).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from app.core.errors import ApiError
from app.core.pools import Connection
from app.core.queue import enqueue_after_commit
from app.core.unit import Unit
from app.models import Operation
from app.models.base import utcnow
from app.operations import repository


def start(
    unit: Unit,
    *,
    project_id: str,
    verb: str,
    kind: str,
    target: str,
    target_uid: uuid.UUID,
    cluster_uid: uuid.UUID,
    generation: int,
    request_id: str,
    finished_response: dict[str, Any] | None = None,
) -> Operation:
    """A new Operation; `finished_response` given = nothing to reconcile, done already."""
    now = utcnow()
    return unit.add(
        Operation,
        uid=uuid.uuid4(),
        project_id=project_id,
        operation_id=repository.new_operation_id(),
        verb=verb,
        kind=kind,
        target=target,
        target_uid=target_uid,
        cluster_uid=cluster_uid,
        target_generation=generation,
        request_id=request_id,
        create_time=now,
        update_time=now,
        version=1,
        done=finished_response is not None,
        cancel_requested=False,
        end_time=now if finished_response is not None else None,
        progress_percent=100 if finished_response is not None else 0,
        steps=[],
        status_message="no change to apply" if finished_response is not None else "queued",
        error=None,
        response=finished_response,
    )


async def get(connection: Connection, project_id: str, operation_id: str) -> Operation:
    op: Operation | None = await repository.get(connection, project_id, operation_id)
    if op is None:
        raise ApiError(
            404,
            "OPERATION_NOT_FOUND",
            f"operation projects/{project_id}/operations/{operation_id} not found",
        )
    return op


async def wait(
    pool: asyncpg.Pool, project_id: str, operation_id: str, wait_seconds: float
) -> Operation:
    """Long-poll: re-read until the operation is done or `wait_seconds` passed.

    Each read takes a connection of its own, so a waiting client holds none. The pause between
    reads is a tenth of the time waited so far (20 ms to 1 s): an Operation done within a second
    (a topic) is seen within tens of milliseconds, one of minutes (a cluster) costs a read a
    second — fewer reads than a fixed interval, and a reply at most ~10% late.
    """
    started = time.monotonic()
    deadline = started + wait_seconds
    while True:
        async with pool.acquire() as connection:
            op = await get(connection, project_id, operation_id)
        now = time.monotonic()
        if op.done or now >= deadline:
            return op
        pause = min(max(0.02, (now - started) / 10), 1.0)
        await asyncio.sleep(min(pause, deadline - now))


async def cancel(unit: Unit, project_id: str, operation_id: str) -> Operation:
    """Ask the workers to stop at the next safe step (a roll stops between two pods).

    Desired state is not rolled back: cancelling says "stop acting", not "undo".
    """
    op = await get(unit.connection, project_id, operation_id)
    if op.done:
        raise ApiError(
            400,
            "OPERATION_DONE",
            "the operation has already finished",
            status="FAILED_PRECONDITION",
        )
    if not op.cancel_requested:
        unit.change(
            Operation,
            op,
            cancel_requested=True,
            status_message="cancellation requested",
            update_time=utcnow(),
        )
    return op


class _Reconciled(Protocol):
    uid: uuid.UUID
    project_id: str
    generation: int
    version: int
    delete_time: datetime | None
    update_time: datetime


def start_reconcile(
    unit: Unit,
    row: _Reconciled,
    *,
    kind: str,
    target: str,
    cluster_uid: uuid.UUID,
    verb: str,
    task: str,
    request_id: str,
    finished: dict[str, Any] | None = None,
) -> Operation:
    """An Operation for a change of `row`, and — unless nothing changed — the reconcile message
    `task(cluster_uid)`, sent after commit."""
    op = start(
        unit,
        project_id=row.project_id,
        verb=verb,
        kind=kind,
        target=target,
        target_uid=row.uid,
        cluster_uid=cluster_uid,
        generation=row.generation,
        request_id=request_id,
        finished_response=finished,
    )
    if finished is None:
        enqueue_after_commit(unit, task, str(cluster_uid))
    return op


async def request_delete(
    unit: Unit, model: type[Any], row: _Reconciled, start_delete: Callable[[], Operation]
) -> Operation:
    """Mark `row` for deletion (the workers remove it); a repeated delete returns the pending
    operation instead of starting another."""
    if row.delete_time is not None:
        pending: Operation | None = await repository.pending(unit.connection, row.uid, "delete")
        if pending is not None:
            return pending
    now = utcnow()
    unit.change(model, row, delete_time=now, update_time=now)
    return start_delete()
