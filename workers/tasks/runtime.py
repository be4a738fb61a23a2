"""Per-process resources of the tasks (the Kubernetes client, the Redis client of the
coalescing markers) and sending messages with the same coalescing the API uses."""

from __future__ import annotations

import contextlib
import logging
import time
from functools import lru_cache
from typing import Any

import redis

from app.core.messages import pending_key
from app.core.secrets import ADMIN_USERNAME
from app.core.settings import get_settings
from workers.adapters import kafka_admin
from workers.adapters.kube import HttpKube
from workers.celery_app import app
from workers.config import get_worker_settings

PENDING_SECONDS = 60
# A scheduled continuation due at most this much later than the one asked for stands for it.
CONTINUATION_SLACK_SECONDS = 0.25


@lru_cache(maxsize=1)
def kube() -> HttpKube:
    settings = get_worker_settings()
    return HttpKube.from_config(settings.kubeconfig, timeout=settings.kube_timeout_seconds)


@lru_cache(maxsize=1)
def markers() -> redis.Redis[bytes]:
    return redis.Redis.from_url(
        get_settings().redis_url, socket_timeout=2, socket_connect_timeout=2
    )


def admin(bootstrap: str, password: str) -> kafka_admin.ConfluentAdmin:
    timeout = get_worker_settings().kafka_timeout_seconds
    return kafka_admin.admin_for(bootstrap, ADMIN_USERNAME, password, timeout)


def clear_marker(name: str, cluster_uid: str) -> None:
    """Called at task start, before any read: a later change must send a new message."""
    # On a Redis error the marker expires by itself; the sweeper covers a lost message.
    with contextlib.suppress(redis.RedisError):
        markers().delete(pending_key(name, cluster_uid))


def enqueue(name: str, cluster_uid: str, countdown: float | None = None) -> None:
    """Send `name(cluster_uid)` unless an identical message is pending (a requeue with a
    countdown is always sent: it is this task's own continuation)."""
    try:
        if countdown is None and not markers().set(
            pending_key(name, cluster_uid), 1, nx=True, ex=PENDING_SECONDS
        ):
            return
        options: dict[str, Any] = {"queue": "kplane"}
        if countdown is not None:
            options["countdown"] = countdown
        app.send_task(name, args=[cluster_uid], **options)
    except Exception:
        # Redis down: nothing is lost, the sweeper re-enqueues from Postgres.
        logging.getLogger("kplane.workers").warning("could not enqueue %s(%s)", name, cluster_uid)


def continuation_key(name: str, cluster_uid: str) -> str:
    return f"kplane:due:{name}:{cluster_uid}"


def continue_later(name: str, cluster_uid: str, countdown: float, attempt: int = 0) -> None:
    """Send this task's own continuation in `countdown` seconds, unless one is already scheduled
    to run no later than that.

    Every pass that ends unconverged asks for a continuation; a pass started by an extra message
    (a change, the sweeper, a busy lock) would otherwise begin a second chain beside the first,
    and chains would add up for as long as the cluster stays unconverged (a roll, a slow
    start), multiplying the passes. The marker holds the due time of the scheduled one; a lost
    message (Redis flushed, a worker killed) is covered by the sweeper, as any other.
    """
    due = time.time() + countdown
    key = continuation_key(name, cluster_uid)
    try:
        r = markers()
        scheduled = r.get(key)
        if scheduled is not None and time.time() <= float(scheduled) <= due + (
            CONTINUATION_SLACK_SECONDS
        ):
            return
        r.set(key, repr(due), px=int((countdown + PENDING_SECONDS) * 1000))
    except (redis.RedisError, ValueError):
        pass  # without the marker the continuation is sent anyway: never fewer passes
    try:
        app.send_task(
            name,
            args=[cluster_uid],
            kwargs={"attempt": attempt},
            countdown=countdown,
            queue="kplane",
        )
    except Exception:
        logging.getLogger("kplane.workers").warning(
            "could not requeue %s(%s); the sweeper will", name, cluster_uid
        )
