"""Publishing `<domain>.reconcile(cluster_id)` messages to the workers, after commit only.

The API never fails a mutation because Redis is down: the desired state is committed, and the
sweeper (workers) re-enqueues every unconverged resource. A failed publish is logged, and the
publisher backs off for a few seconds so that a dead Redis does not add a timeout to every call.

Coalescing: a message is sent only when no identical one is pending. The publisher sets a
"pending" marker per (task, args) with SET NX and skips the send while it exists; the worker
deletes the marker when the task starts, *before* it reads the database, so a change committed
after that read always finds no marker and sends a new message. 1,000 topic creates thus cost
a handful of reconciles, not 1,000. The marker expires on its own (a safety net only).
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import lru_cache
from typing import Any

import redis
from celery import Celery

from app.core.messages import pending_key
from app.core.settings import get_settings
from app.core.unit import Unit

log = logging.getLogger("kplane.queue")
_BACKOFF_SECONDS = 5.0
_PENDING_SECONDS = 60
_state = {"down_until": 0.0}


@lru_cache(maxsize=1)
def producer() -> Celery:
    """A Celery app used only to send messages by task name (the API never imports workers)."""
    settings = get_settings()
    timeout = settings.enqueue_timeout_seconds
    app = Celery("kplane-api", broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry=False,
        broker_connection_timeout=timeout,
        broker_transport_options={
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "max_retries": 0,
        },
        task_default_queue="kplane",
    )
    return app


@lru_cache(maxsize=4)
def _markers(url: str) -> redis.Redis[bytes]:
    timeout = get_settings().enqueue_timeout_seconds
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def _publish(name: str, args: list[Any]) -> None:
    markers = _markers(get_settings().redis_url)
    key = pending_key(name, *map(str, args))
    if not markers.set(key, 1, nx=True, ex=_PENDING_SECONDS):
        return  # an identical message is pending: the worker will read this change too
    try:
        producer().send_task(name, args=args, retry=False)
    except Exception:
        markers.delete(key)  # no message went out: the next change must send one
        raise


async def publish(name: str, *args: Any) -> bool:
    """Send one message now; False (and a log line) if Redis could not take it."""
    if time.monotonic() < _state["down_until"]:
        return False
    try:
        await asyncio.wait_for(
            asyncio.to_thread(_publish, name, list(args)),
            timeout=get_settings().enqueue_timeout_seconds * 4,
        )
        return True
    except Exception as exc:
        _state["down_until"] = time.monotonic() + _BACKOFF_SECONDS
        log.warning("could not enqueue %s; the sweeper will converge it: %s", name, exc)
        return False


def enqueue_after_commit(unit: Unit, name: str, *args: str) -> None:
    """Queue `name(*args)` to be sent once the unit has landed. Duplicates within one unit are
    sent once: tasks are level-triggered by id."""

    async def send() -> None:
        await publish(name, *args)

    unit.on_commit(send, once=(name, args))
