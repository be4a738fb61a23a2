"""`sweeper.resync` (beat, every ≤ 30 s): re-enqueue every cluster domain with something
unconverged — no status yet, a newer generation, a pending deletion, not ACTIVE — or not
checked for `recheck_seconds`. Postgres is the source of truth: after Redis lost every
message, one sweep restores the work. Permanently FAILED resources wait for a spec change."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import and_, not_, or_, select
from sqlalchemy.orm import Session

from app.models import Acl, Cluster, ResourceStatus, Topic, User
from app.models.base import DesiredState, utcnow
from workers import db
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
    """(task, cluster uid) pairs that need a pass, one query per domain."""
    before = utcnow() - recheck
    out: set[tuple[str, uuid.UUID]] = set()
    for name, model in DOMAINS:
        cluster_col = model.uid if model is Cluster else model.cluster_uid  # type: ignore[attr-defined]
        s = ResourceStatus
        failed_for_good = and_(
            s.state == "FAILED",
            s.observed_generation == model.generation,
            model.delete_time.is_(None),
        )
        query = (
            select(cluster_col)
            .distinct()
            .outerjoin(s, s.resource_uid == model.uid)
            .where(
                or_(
                    s.resource_uid.is_(None),
                    model.delete_time.is_not(None),
                    and_(
                        not_(failed_for_good),
                        or_(
                            s.observed_generation < model.generation,
                            s.state != "ACTIVE",
                            s.last_checked_time.is_(None),
                            s.last_checked_time < before,
                        ),
                    ),
                )
            )
        )
        out |= {(name, uid) for uid in session.scalars(query)}
    return out


@task("sweeper.resync")
def resync() -> int:
    settings = get_worker_settings()
    with db.sessions()() as session:
        work = due(session, timedelta(seconds=settings.recheck_seconds))
    for name, uid in sorted(work):
        runtime.enqueue(name, str(uid))
    if work:
        log.info("sweeper: %d reconcile(s) enqueued", len(work))
    return len(work)
