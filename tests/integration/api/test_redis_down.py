"""With Redis down a mutation still succeeds: the desired state is committed and the sweeper
converges it later. Never a 500 because of Redis."""

from __future__ import annotations

import time

import pytest

from app.core import queue
from app.core.settings import get_settings
from devstack.proc import free_port
from tests.integration.api.conftest import World

pytestmark = pytest.mark.anyio


async def test_mutations_succeed_without_redis(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    monkeypatch.setattr(get_settings(), "redis_url", dead)
    queue.producer.cache_clear()
    queue._state["down_until"] = 0.0
    try:
        started = time.monotonic()
        r = await world.call(
            "POST", "/v1/projects/p/clusters/c/topics?topic_id=t", role="editor", json={}
        )
        assert r.status_code == 200
        assert time.monotonic() - started < 5
        assert (await world.call("GET", "/v1/projects/p/clusters/c/topics/t")).status_code == 200
        # While Redis stays down, later calls do not wait for it again.
        started = time.monotonic()
        r = await world.call(
            "POST", "/v1/projects/p/clusters/c/topics?topic_id=u", role="editor", json={}
        )
        assert r.status_code == 200
        assert time.monotonic() - started < 1
    finally:
        queue.producer.cache_clear()
        queue._state["down_until"] = 0.0
