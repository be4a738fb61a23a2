"""`sweeper.resync` (beat, every ≤ 30 s): re-enqueue every cluster domain with something
unconverged — no status yet, a newer generation, a pending deletion, not ACTIVE — or not
checked for `recheck_seconds`. Postgres is the source of truth: after Redis lost every
message, one sweep restores the work. Permanently FAILED resources wait for a spec change.

The same task purges what the API promises to keep only for a while: done Operations whose
end is more than 30 days past, and remembered idempotent responses older than their 24 h
window — in small batches (each its own transaction, so no long lock), at most once an hour
per worker process."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Delete, and_, delete, select, tuple_
from sqlalchemy.orm import Session

from app.core.settings import get_settings
from app.models import Acl, Cluster, IdempotencyRecord, Operation, ResourceStatus, Topic, User
from app.models.base import DesiredState, utcnow
from workers import db, store
from workers.celery_app import task
from workers.config import get_worker_settings
from workers.tasks import runtime

log = logging.getLogger("kplane.workers")
DOMAINS: tuple[tuple[str, type[DesiredState]], ...] = (
    ("clusters.reconcile", Cluster),
    ("topics.reconcile", Topic),
    ("acls.reconcile", Acl),
    ("users.reconcile", User),
)


def due(session: Session, recheck: timedelta) -> set[tuple[str, uuid.UUID]]:
    """(task, cluster uid) pairs that need a pass (`store.due`), one query per domain."""
    before = utcnow() - recheck
    out: set[tuple[str, uuid.UUID]] = set()
    for name, model in DOMAINS:
        cluster_col = model.uid if model is Cluster else model.cluster_uid  # type: ignore[attr-defined]
        query = (
            select(cluster_col)
            .distinct()
            .outerjoin(ResourceStatus, ResourceStatus.resource_uid == model.uid)
            .where(store.due(model, before))
        )
        out |= {(name, uid) for uid in session.scalars(query)}
    return out


OPERATION_RETENTION = timedelta(days=30)
PURGE_INTERVAL_SECONDS = 3600.0
PURGE_BATCH = 1000
_last_purge: float | None = None


def _purge_batches(session: Session, batch: int, delete_batch: Delete) -> int:
    total = 0
    while True:
        deleted = int(getattr(session.execute(delete_batch), "rowcount", 0) or 0)
        session.commit()
        total += deleted
        if deleted < batch:
            return total


def purge(
    session: Session,
    now: datetime,
    operation_retention: timedelta = OPERATION_RETENTION,
    idempotency_ttl: timedelta | None = None,
    batch: int = PURGE_BATCH,
) -> tuple[int, int]:
    """Delete done Operations that ended before `now - operation_retention` and idempotency
    records created before `now - idempotency_ttl`; (operations, records) deleted.

    Each batch picks its rows with SKIP LOCKED, so a request holding an idempotency record
    (or a worker finishing an Operation) is never waited for; a busy row goes next time."""
    if idempotency_ttl is None:
        idempotency_ttl = timedelta(hours=get_settings().idempotency_ttl_hours)
    old_ops: ColumnElement[bool] = and_(
        Operation.done.is_(True), Operation.end_time < now - operation_retention
    )
    ops = select(Operation.uid).where(old_ops).limit(batch).with_for_update(skip_locked=True)
    records = (
        select(IdempotencyRecord.principal, IdempotencyRecord.key)
        .where(IdempotencyRecord.create_time < now - idempotency_ttl)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    operations = _purge_batches(
        session, batch, delete(Operation).where(Operation.uid.in_(ops.scalar_subquery()))
    )
    remembered = _purge_batches(
        session,
        batch,
        delete(IdempotencyRecord).where(
            tuple_(IdempotencyRecord.principal, IdempotencyRecord.key).in_(records)
        ),
    )
    return operations, remembered


def _purge_due() -> bool:
    global _last_purge
    now = time.monotonic()
    if _last_purge is not None and now - _last_purge < PURGE_INTERVAL_SECONDS:
        return False
    _last_purge = now
    return True


@task("sweeper.resync")
def resync() -> int:
    settings = get_worker_settings()
    with db.sessions()() as session:
        work = due(session, timedelta(seconds=settings.recheck_seconds))
        if _purge_due():
            operations, remembered = purge(session, utcnow())
            if operations or remembered:
                log.info(
                    "sweeper: purged %d old operation(s), %d idempotency record(s)",
                    operations,
                    remembered,
                )
    for name, uid in sorted(work):
        runtime.enqueue(name, str(uid))
    if work:
        log.info("sweeper: %d reconcile(s) enqueued", len(work))
    return len(work)
