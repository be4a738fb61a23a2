"""`consumer_groups.apply(cluster_uid)` — carry out the cluster's pending consumer group
actions (offset resets, deletions) — and `consumer_groups.resync`, which beat runs so that an
action whose message was lost (Redis flushed, a worker killed) is still carried out: the rows in
Postgres, not the messages, say what is pending. Beat also runs `consumer_groups.sample_lag`,
the lag history's sampler (every KPLANE_WORKER_LAG_SAMPLE_SECONDS)."""

from __future__ import annotations

import logging
import random
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import distinct, select

from app.core.secrets import ADMIN_USERNAME
from app.core.settings import get_settings
from app.models import ConsumerGroupAction
from app.models.base import utcnow
from workers import db
from workers.adapters.consumer_groups import GroupAdmin, group_admin_for
from workers.celery_app import task
from workers.config import get_worker_settings
from workers.outcome import Outcome, RequeueAfter
from workers.reconcilers import consumer_groups
from workers.tasks import runtime

APPLY = "consumer_groups.apply"
# An action younger than this is left to the message the API sent for it.
RESYNC_AFTER = timedelta(seconds=10)
log = logging.getLogger("kplane.workers")


def _admin(bootstrap: str, password: str) -> GroupAdmin:
    timeout = get_worker_settings().kafka_timeout_seconds
    return group_admin_for(bootstrap, ADMIN_USERNAME, password, timeout)


@task(APPLY)
def apply(cluster_uid: str, attempt: int = 0) -> str:
    runtime.clear_marker(APPLY, cluster_uid)
    try:
        uid = uuid.UUID(cluster_uid)
    except ValueError:
        log.error("%s: not a cluster uid: %r", APPLY, cluster_uid)
        return "invalid"
    rid = secrets.token_hex(6)
    # A lock of its own, not the cluster's: a reset need not wait behind a rolling restart.
    with db.advisory_lock("consumer_groups", uid) as held:
        if not held:
            runtime.continue_later(APPLY, cluster_uid, random.uniform(1.0, 3.0), attempt)
            return "busy"
        outcome: Outcome
        try:
            with db.sessions()() as session:
                outcome = consumer_groups.apply(
                    session, _admin, get_settings().credential_key, uid, rid
                )
        except Exception:
            log.exception("%s(%s) failed unexpectedly; retrying", APPLY, uid)
            outcome = RequeueAfter(min(60.0, 2.0 ** min(attempt + 1, 6)), "unexpected error")
    if isinstance(outcome, RequeueAfter):
        log.info("%s(%s): requeue in %.1fs: %s", APPLY, uid, outcome.seconds, outcome.reason)
        runtime.continue_later(APPLY, cluster_uid, outcome.seconds, attempt + 1)
        return "requeued"
    return "ready"


@task("consumer_groups.resync")
def resync() -> int:
    """Re-send `consumer_groups.apply` for every cluster with an action left pending."""
    with db.sessions()() as session:
        uids = session.scalars(
            select(distinct(ConsumerGroupAction.cluster_uid)).where(
                ConsumerGroupAction.create_time < utcnow() - RESYNC_AFTER
            )
        ).all()
    for uid in uids:
        runtime.enqueue(APPLY, str(uid))
    return len(uids)


@task("consumer_groups.sample_lag")
def sample_lag() -> int:
    """One lag sample of every group; one sampler at a time, however many workers and beats."""
    settings = get_worker_settings()
    with db.advisory_lock("consumer_groups.sample_lag", "all") as held:
        if not held:
            return 0
        with db.sessions()() as session:
            return consumer_groups.sample_lag(
                session,
                _admin,
                get_settings().credential_key,
                timedelta(hours=settings.lag_retention_hours),
                utcnow(),
            )
