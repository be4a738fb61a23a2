"""`clusters.reconcile`, `topics.reconcile`, `acls.reconcile`, `users.reconcile` — each takes
a cluster uid (a string), never "what changed"."""

from __future__ import annotations

import logging
import random
import secrets
import shutil
import time
import uuid
from collections.abc import Callable

from celery.signals import worker_init, worker_shutdown

from app.core.settings import get_settings
from workers import db, metrics, status, store
from workers.celery_app import QUEUE, task
from workers.config import get_worker_settings
from workers.outcome import Failed, Outcome, PermanentError, Ready, RequeueAfter, TransientError
from workers.reconcilers import acls, cluster, topics, users
from workers.reconcilers.context import Context
from workers.tasks import runtime, sweeper

log = logging.getLogger("kplane.workers")
Reconciler = Callable[[Context, uuid.UUID], Outcome]
MAX_BACKOFF = 60.0


def _backoff(attempt: int) -> float:
    """Exponential backoff with full jitter, 1 s .. 60 s."""
    return random.uniform(0.5, min(MAX_BACKOFF, 2.0 ** min(attempt, 6)))


def run(name: str, reconciler: Reconciler, cluster_uid: str, attempt: int = 0) -> str:
    """One pass, timed and counted by how it ended (workers.metrics)."""
    started = time.perf_counter()
    ended = _pass(name, reconciler, cluster_uid, attempt)
    metrics.observe_reconcile(name, ended, time.perf_counter() - started)
    return ended


def _pass(name: str, reconciler: Reconciler, cluster_uid: str, attempt: int) -> str:
    """Lock, reconcile, commit, map the outcome. Returns a word for the logs and metrics."""
    runtime.clear_marker(name, cluster_uid)
    try:
        uid = uuid.UUID(cluster_uid)
    except ValueError:
        log.error("%s: not a cluster uid: %r", name, cluster_uid)
        return "invalid"
    rid = secrets.token_hex(6)
    with db.advisory_lock("cluster", uid) as held:
        if not held:
            # Another worker reconciles this cluster: look again shortly (jitter spreads it).
            runtime.continue_later(name, cluster_uid, random.uniform(1.0, 5.0), attempt)
            return "busy"
        log.info("reconcile-begin task=%s cluster=%s id=%s t=%.6f", name, uid, rid, time.time())
        outcome: Outcome
        try:
            with db.sessions()() as session:
                ctx = Context(
                    session=session,
                    kube=runtime.kube(),
                    admin=runtime.admin,
                    settings=get_worker_settings(),
                    reconcile_id=rid,
                    enqueue=lambda task, c: runtime.enqueue(task, c),
                    secret_key=get_settings().credential_key,
                )
                try:
                    outcome = reconciler(ctx, uid)
                except TransientError as exc:
                    session.commit()  # keep "Unknown" conditions a reconciler recorded
                    outcome = RequeueAfter(_backoff(attempt + 1), f"transient: {exc}")
                except PermanentError as exc:
                    session.rollback()
                    outcome = Failed(exc.reason, exc.message)
                else:
                    session.commit()
        except Exception:
            log.exception("%s(%s) failed unexpectedly; retrying", name, uid)
            outcome = RequeueAfter(_backoff(attempt + 1), "unexpected error")
        finally:
            log.info("reconcile-end task=%s cluster=%s id=%s t=%.6f", name, uid, rid, time.time())
    if isinstance(outcome, RequeueAfter):
        log.info("%s(%s): requeue in %.1fs: %s", name, uid, outcome.seconds, outcome.reason)
        next_attempt = attempt + 1 if outcome.reason.startswith(("transient", "unexpected")) else 0
        runtime.continue_later(name, cluster_uid, outcome.seconds, next_attempt)
        return "requeued"
    if isinstance(outcome, Failed):
        log.warning("%s(%s) failed: %s %s", name, uid, outcome.reason, outcome.message)
        if name == "clusters.reconcile":
            _record_cluster_failure(uid, outcome)
        return "failed"
    assert isinstance(outcome, Ready)
    return "ready"


def _record_cluster_failure(uid: uuid.UUID, outcome: Failed) -> None:
    """A permanent failure: FAILED at this generation, Operations finished with the error; the
    sweeper leaves it alone until the spec changes."""
    with db.sessions()() as session:
        found = store.cluster(session, uid)
        if found is None:
            return
        c, row = found
        gen = c.generation
        observed = status.Observed(
            uid=c.uid,
            kind="cluster",
            cluster_uid=c.uid,
            generation=gen,
            state="FAILED",
            conditions=[status.condition("Ready", False, outcome.reason, outcome.message, gen)],
            data=dict(row.data) if row is not None else {},
            observed_generation=gen,
        )
        status.record(session, [observed])
        status.fail_operations(session, c.uid, gen, outcome.reason, outcome.message)
        session.commit()


def _serve_metrics(**_: object) -> None:
    """In the worker's main process, before its pool forks (Celery's worker_init)."""
    settings = get_worker_settings()
    if not settings.metrics_port:
        return
    kinds = [(metrics.kind_of(name), model) for name, model in sweeper.DOMAINS]
    app_settings = get_settings()
    directory = metrics.serve(
        settings.metrics_port,
        settings.metrics_host,
        app_settings.redis_url,
        QUEUE,
        app_settings.sync_database_url,
        kinds,
    )

    def remove_values(**_: object) -> None:
        shutil.rmtree(directory, ignore_errors=True)

    worker_shutdown.connect(remove_values, weak=False)


worker_init.connect(_serve_metrics, weak=False)


@task("clusters.reconcile")
def clusters_reconcile(cluster_uid: str, attempt: int = 0) -> str:
    return run("clusters.reconcile", cluster.reconcile, cluster_uid, attempt)


@task("topics.reconcile")
def topics_reconcile(cluster_uid: str, attempt: int = 0) -> str:
    return run("topics.reconcile", topics.reconcile, cluster_uid, attempt)


@task("acls.reconcile")
def acls_reconcile(cluster_uid: str, attempt: int = 0) -> str:
    return run("acls.reconcile", acls.reconcile, cluster_uid, attempt)


@task("users.reconcile")
def users_reconcile(cluster_uid: str, attempt: int = 0) -> str:
    return run("users.reconcile", users.reconcile, cluster_uid, attempt)
