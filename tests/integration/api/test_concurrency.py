"""Races that only a real server with a real connection pool can show."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import psycopg
import pytest

from tests.conftest import LiveApi
from tests.integration.api.conftest import live_project

pytestmark = pytest.mark.anyio


async def test_fifty_concurrent_posts_with_one_key(live_api: LiveApi) -> None:
    async with httpx.AsyncClient(base_url=live_api.base_url, timeout=30) as c:
        project = await live_project(c, live_api.admin)
        key = str(uuid.uuid4())
        url = f"/v1/projects/{project}/clusters/c/topics?topic_id=orders&request_id={key}"

        async def post_until_settled() -> httpx.Response:
            while True:
                r = await c.post(url, json={"partition_count": 3}, headers=live_api.admin)
                if r.status_code != 409 or r.headers.get("retry-after") != "1":
                    return r
                await asyncio.sleep(0.05)

        results = await asyncio.gather(*(post_until_settled() for _ in range(50)))
        assert {r.status_code for r in results} == {200}
        assert len({r.json()["name"] for r in results}) == 1
        r = await c.post(url, json={"partition_count": 4}, headers=live_api.admin)
        assert r.status_code == 422
    with psycopg.connect(live_api.database_url.replace("+asyncpg", "")) as db:
        topics = db.execute(
            "SELECT count(*) FROM topics WHERE project_id = %s AND topic_id = 'orders'", (project,)
        ).fetchone()
        ops = db.execute(
            "SELECT count(*) FROM operations WHERE project_id = %s AND kind = 'topic'", (project,)
        ).fetchone()
    assert topics == (1,) and ops == (1,)


async def test_two_patches_with_one_etag(live_api: LiveApi) -> None:
    async with httpx.AsyncClient(base_url=live_api.base_url, timeout=30) as c:
        project = await live_project(c, live_api.admin)
        path = f"/v1/projects/{project}/clusters/c"
        etag = (await c.get(path, headers=live_api.admin)).json()["etag"]
        results = await asyncio.gather(
            c.patch(path, json={"storage_gib": 200, "etag": etag}, headers=live_api.admin),
            c.patch(path, json={"storage_gib": 300, "etag": etag}, headers=live_api.admin),
        )
        assert sorted(r.status_code for r in results) == [200, 409]


async def test_mutation_enqueues_after_commit(live_api: LiveApi) -> None:
    """The reconcile message carries only the cluster's id and reaches Redis after commit."""
    import redis

    client = redis.Redis.from_url(live_api.redis_url)
    client.delete("kplane")
    async with httpx.AsyncClient(base_url=live_api.base_url, timeout=30) as c:
        project = await live_project(c, live_api.admin)
        r = await c.post(
            f"/v1/projects/{project}/clusters/c/topics?topic_id=q", json={}, headers=live_api.admin
        )
        assert r.status_code == 200
        r = await c.post(
            f"/v1/projects/{project}/clusters/c/topics?topic_id=__bad",
            json={},
            headers=live_api.admin,
        )
        assert r.status_code == 400
    messages = [client.lindex("kplane", i) or b"" for i in range(client.llen("kplane"))]
    names = [m for m in messages if b'"topics.reconcile"' in m]
    assert len(names) == 1, "one message for the accepted create, none for the refused one"
