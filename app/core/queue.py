"""Publishing `<domain>.reconcile(cluster_id)` messages to the workers, after commit only.

The API never fails a mutation because Redis is down: the desired state is committed, and the
sweeper (workers) re-enqueues every unconverged resource. A failed publish is logged, and the
publisher backs off for a few seconds so that a dead Redis does not add a timeout to every call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import lru_cache
from typing import Any

from celery import Celery
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import after_commit
from app.core.settings import get_settings

log = logging.getLogger("kplane.queue")
_BACKOFF_SECONDS = 5.0
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


def _publish(name: str, args: list[Any]) -> None:
    producer().send_task(name, args=args, retry=False)


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


def enqueue_after_commit(session: AsyncSession, name: str, *args: str) -> None:
    """Queue `name(*args)` to be sent once the request's transaction has committed.

    Duplicates within one transaction are sent once: tasks are level-triggered by id.
    """
    pending: set[tuple[str, tuple[str, ...]]] = session.info.setdefault("enqueued", set())
    if (name, args) in pending:
        return
    pending.add((name, args))

    async def send() -> None:
        await publish(name, *args)

    after_commit(session, send)
