"""The Celery application of the workers, with the reliability settings kplane relies on.

JSON only; acks_late + task_reject_on_worker_lost so a killed worker's message is redelivered;
prefetch 1 so a busy worker does not hoard messages; no result backend (Postgres holds every
outcome); explicit task names; time limits well under Redis's visibility timeout, so a message
is never redelivered while its first delivery still runs. Beat runs `sweeper.resync`.

Run:  celery -A workers.celery_app worker -Q kplane      (any number of them)
      python -m workers.beat                            (leader-elected beat, any number)
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from celery import Celery
from celery.signals import after_setup_logger, worker_process_init

from app.core.settings import get_settings
from workers.config import get_worker_settings

QUEUE = "kplane"
VISIBILITY_TIMEOUT = 3600


def make_app() -> Celery:
    settings = get_settings()
    worker = get_worker_settings()
    app = Celery("kplane", broker=settings.redis_url, include=["workers.tasks"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_soft_time_limit=worker.task_soft_time_limit,
        task_time_limit=worker.task_time_limit,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        broker_connection_retry_on_startup=True,
        worker_send_task_events=False,
        beat_schedule={
            "sweeper": {"task": "sweeper.resync", "schedule": worker.resync_seconds},
            "groups": {"task": "consumer_groups.resync", "schedule": worker.resync_seconds},
            "lag": {"task": "consumer_groups.sample_lag", "schedule": worker.lag_sample_seconds},
        },
    )
    assert worker.task_time_limit < VISIBILITY_TIMEOUT / 4
    return app


app = make_app()
F = TypeVar("F", bound=Callable[..., Any])


def task(name: str) -> Callable[[F], F]:
    """`app.task(name=...)`, typed (Celery ships no type information)."""
    return cast(Callable[[F], F], app.task(name=name))


def _kplane_logging(**_: object) -> None:
    logging.getLogger("kplane").setLevel(get_settings().log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise


after_setup_logger.connect(_kplane_logging, weak=False)


def _settle_heap(**_: object) -> None:
    """In each worker process, once its imports are done: what exists then lives for the
    process, so the collector leaves it alone, and the young generation is collected less often
    (a pass over 1,000 topics allocates a few hundred thousand objects: with the defaults, the
    collections that walk every imported module's objects cost about a quarter of its CPU)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


worker_process_init.connect(_settle_heap, weak=False)
