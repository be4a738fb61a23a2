"""A pass that ends unconverged asks for a continuation; extra messages (a change, the sweeper,
a busy lock) must not start extra continuation chains, or passes multiply for as long as a
cluster stays unconverged. Real Redis and a real Celery producer; messages counted in the queue.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from celery import Celery

from devstack.redis import LocalRedis
from workers.celery_app import QUEUE
from workers.tasks import runtime

UID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
TASK = "clusters.reconcile"


@pytest.fixture
def queue(
    redis_server: LocalRedis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[redis.Redis[bytes]]:
    url = redis_server.url.rsplit("/", 1)[0] + "/13"
    client: redis.Redis[bytes] = redis.Redis.from_url(url)
    client.flushdb()
    producer = Celery("continuations", broker=url)
    producer.conf.task_default_queue = QUEUE
    monkeypatch.setattr(runtime, "app", producer)
    monkeypatch.setattr(runtime, "markers", lambda: client)
    try:
        yield client
    finally:
        client.flushdb()
        producer.close()


def _sent(queue: redis.Redis[bytes]) -> list[float]:
    """The countdowns (as ETA order) of the continuation messages in the queue."""
    out = []
    for raw in queue.lrange(QUEUE, 0, -1):
        message = json.loads(raw)
        assert message["headers"]["task"] == TASK
        out.append(message["headers"]["eta"])
    return out


def test_a_second_chain_is_not_started(queue: redis.Redis[bytes]) -> None:
    runtime.continue_later(TASK, UID, 1.0)
    runtime.continue_later(TASK, UID, 1.0)  # a pass an extra message started
    runtime.continue_later(TASK, UID, 3.0)  # wants a later look: the scheduled one covers it
    assert len(_sent(queue)) == 1


def test_an_earlier_continuation_is_sent(queue: redis.Redis[bytes]) -> None:
    runtime.continue_later(TASK, UID, 5.0)
    runtime.continue_later(TASK, UID, 1.0)  # sooner than the scheduled one: sent
    assert len(_sent(queue)) == 2
    runtime.continue_later(TASK, UID, 1.1)  # within the slack of the 1 s one: not sent
    assert len(_sent(queue)) == 2


def test_other_clusters_and_tasks_are_apart(queue: redis.Redis[bytes]) -> None:
    runtime.continue_later(TASK, UID, 1.0)
    runtime.continue_later("topics.reconcile", UID, 1.0)
    runtime.continue_later(TASK, "0b1f4c8e-0000-4000-8000-000000000000", 1.0)
    assert queue.llen(QUEUE) == 3


def test_a_continuation_past_due_does_not_hold_back_the_next(queue: redis.Redis[bytes]) -> None:
    # The scheduled continuation has run (its due time passed): the next one is sent.
    queue.set(runtime.continuation_key(TASK, UID), "1.0")
    runtime.continue_later(TASK, UID, 1.0)
    assert queue.llen(QUEUE) == 1


def test_without_redis_markers_the_continuation_is_still_sent(
    queue: redis.Redis[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken: redis.Redis[bytes] = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(runtime, "markers", lambda: broken)
    runtime.continue_later(TASK, UID, 1.0)
    runtime.continue_later(TASK, UID, 1.0)
    assert queue.llen(QUEUE) == 2
