"""Per-process resources of the tasks (the Kubernetes client, the Redis client of the
coalescing markers) and sending messages with the same coalescing the API uses."""

from __future__ import annotations

import contextlib
import logging
from functools import lru_cache
from typing import Any

import redis

from app.core.queue import pending_key
from app.core.settings import get_settings
from workers.adapters import kafka_admin
from workers.adapters.kube import HttpKube
from workers.builders import names
from workers.celery_app import app
from workers.config import get_worker_settings

PENDING_SECONDS = 60


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
    return kafka_admin.admin_for(bootstrap, names.ADMIN_USERNAME, password, timeout)


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
