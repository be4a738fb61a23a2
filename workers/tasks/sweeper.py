"""`sweeper.resync` (beat, every ≤ 30 s): re-enqueue every cluster domain with something
unconverged — no status yet, a newer generation, a pending deletion, not ACTIVE — or not
checked for `recheck_seconds`. Postgres is the source of truth: after Redis lost every
message, one sweep restores the work. Permanently FAILED resources wait for a spec change.

The same task purges what the API promises to keep only for a while: done Operations whose
end is more than 30 days past, and remembered idempotent responses older than their 24 h
window — in small batches (each its own transaction, so no long lock), at most once an hour
per worker process; and re-encrypts under the newest password-encryption key every secret an
older key protects (`reencrypt`), so that the older key can then be dropped."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import ColumnElement, Delete, and_, delete, select, true, tuple_, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.core.secrets import reencrypted
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


REENCRYPT_BATCH = 500


def _reencrypt_column(
    session: Session,
    model: type[Any],
    keys: tuple[InstrumentedAttribute[Any], ...],
    column: InstrumentedAttribute[bytes],
    where: ColumnElement[bool],
    batch: int,
) -> tuple[int, int]:
    """Walk `model`'s rows matching `where` in key order, `batch` at a time (a transaction
    each), writing `column` again under the newest key where an older one encrypted it."""
    done = unreadable = 0
    after: tuple[Any, ...] | None = None
    while True:
        query = select(*keys, column).where(where).order_by(*keys).limit(batch)
        if after is not None:
            query = query.where(tuple_(*keys) > tuple_(*after))
        rows = session.execute(query).all()
        for *key, old in rows:
            try:
                new = reencrypted(old)
            except InvalidToken:
                unreadable += 1
                continue
            if new is None:
                continue
            # Compare and set: a secret changed since the read (a new password) stays as is.
            same_row = and_(*(k == v for k, v in zip(keys, key, strict=True)), column == old)
            changed = session.execute(update(model).where(same_row).values({column.key: new}))
            done += int(getattr(changed, "rowcount", 0) or 0)
        session.commit()
        if len(rows) < batch:
            return done, unreadable
        after = tuple(rows[-1][: len(keys)])


def reencrypt(session: Session, batch: int = REENCRYPT_BATCH) -> tuple[int, int]:
    """Re-encrypt under the newest password-encryption key the user passwords and remembered
    responses that an older key protects; (rows re-encrypted, rows no configured key reads —
    a key dropped too early: left as they are, and logged by the caller)."""
    users = _reencrypt_column(session, User, (User.uid,), User.password_ciphertext, true(), batch)
    records = _reencrypt_column(
        session,
        IdempotencyRecord,
        (IdempotencyRecord.principal, IdempotencyRecord.key),
        IdempotencyRecord.body,
        IdempotencyRecord.body_encrypted.is_(True),
        batch,
    )
    return users[0] + records[0], users[1] + records[1]


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
            rewritten, unreadable = reencrypt(session)
            if rewritten:
                log.info("sweeper: %d secret(s) re-encrypted under the newest key", rewritten)
            if unreadable:
                log.error(
                    "sweeper: %d secret(s) readable under no configured password-encryption "
                    "key (was a key dropped before the sweeper re-encrypted them?)",
                    unreadable,
                )
    for name, uid in sorted(work):
        runtime.enqueue(name, str(uid))
    if work:
        log.info("sweeper: %d reconcile(s) enqueued", len(work))
    return len(work)
