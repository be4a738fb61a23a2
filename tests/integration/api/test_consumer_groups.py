"""Consumer groups through the API (app/consumer_groups/) where no broker is needed: every
refused request is a 400/403 before any broker is asked, a cluster without brokers is a
FAILED_PRECONDITION, and brokers that do not answer are a 503 with Retry-After, not a 500."""

from __future__ import annotations

import socket
import time
from typing import Any

import orjson
import pytest
from fastapi import FastAPI

from tests.integration.api.conftest import World
from tests.integration.api.error_body import reason, violations

pytestmark = pytest.mark.anyio

G = "/v1/projects/p/clusters/c/consumer_groups"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "to_earliest"),
        ({"to_earliest": False}, "to_earliest"),
        ({"to_earliest": True, "shift_by": -1}, "shift_by"),
        ({"to_timestamp": "yesterday"}, "to_timestamp"),
        ({"to_timestamp": "2026-12-02T07:00:00"}, "to_timestamp"),
        ({"to_offset": -1}, "to_offset"),
        ({"to_offset": "5"}, "to_offset"),
        ({"to_latest": True, "topics": [{"topic": "t", "partitions": [-1]}]}, "topics[0]"),
        ({"to_latest": True, "topics": [{"topic": ""}]}, "topics"),
        ({"to_latest": True, "group": "g"}, "group"),
    ],
)
async def test_a_reset_is_validated_before_anything_is_asked(
    world: World, body: dict[str, Any], field: str
) -> None:
    r = await world.call("POST", f"{G}/g:resetOffsets", role="editor", json=body)
    assert r.status_code == 400, r.text
    assert any(f.startswith(field) for f in violations(r)), violations(r)


async def test_viewer_reads_editor_resets(world: World) -> None:
    r = await world.call("POST", f"{G}/g:resetOffsets", role="viewer", json={"to_latest": True})
    assert r.status_code == 403
    r = await world.call("DELETE", f"{G}/g", role="viewer")
    assert r.status_code == 403
    r = await world.call("GET", G, role="other")
    assert r.status_code == 403
    # Allowed, but the cluster has no brokers yet (no worker ran here).
    for method, path, role in (
        ("GET", G, "viewer"),
        ("GET", f"{G}/g", "viewer"),
        ("POST", f"{G}/g:resetOffsets", "editor"),
        ("DELETE", f"{G}/g", "editor"),
    ):
        json = {"to_latest": True} if method == "POST" else None
        r = await world.call(method, path, role=role, json=json)
        assert r.status_code == 400, (method, path, r.text)
        assert r.json()["error"]["status"] == "FAILED_PRECONDITION"
        assert reason(r) == "CLUSTER_NOT_READY"
    r = await world.call("GET", "/v1/projects/p/clusters/nope/consumer_groups")
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"filter": "labels.a = b"}, "filter"),
        ({"filter": "state = SLEEPY"}, "filter"),
        ({"order_by": "lag desc"}, "order_by"),
        ({"page_token": "forged.token"}, "page_token"),
        ({"page_size": -1}, "page_size"),
    ],
)
async def test_a_list_is_validated_before_the_brokers_are_asked(
    world: World, params: dict[str, Any], field: str
) -> None:
    r = await world.call("GET", G, params=params)
    assert r.status_code == 400, r.text
    assert field in violations(r)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_brokers_that_do_not_answer_are_503_with_retry_after(
    world: World, app: FastAPI
) -> None:
    """The cluster's recorded address points at a port nobody listens on."""
    async with app.state.pool.acquire() as conn:
        uid = await conn.fetchval("SELECT uid FROM clusters WHERE cluster_id = 'c'")
        await conn.execute(
            "INSERT INTO resource_status "
            "(resource_uid, kind, cluster_uid, state, data, update_time) "
            "VALUES ($1, 'cluster', $1, 'ACTIVE', $2::text::jsonb, now())",
            uid,
            orjson.dumps({"bootstrap_servers": f"127.0.0.1:{_closed_port()}"}).decode(),
        )
    for method, path, json in (
        ("GET", G, None),
        ("POST", f"{G}/g:resetOffsets", {"to_latest": True, "validate_only": True}),
    ):
        started = time.monotonic()
        r = await world.call(method, path, role="editor", json=json)
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "2"
        assert r.json()["error"]["status"] == "UNAVAILABLE"
        assert reason(r) == "BROKERS_UNAVAILABLE"
        assert time.monotonic() - started < 10  # a short timeout, not the client's default


async def test_lag_history_reads_the_samples_oldest_first(world: World, app: FastAPI) -> None:
    h = f"{G}/orders-app/lag_history"
    r = await world.call("GET", h, role="viewer")
    assert r.status_code == 200, r.text
    assert r.json() == {"group": "projects/p/clusters/c/consumer_groups/orders-app", "samples": []}
    async with app.state.pool.acquire() as conn:
        uid = await conn.fetchval("SELECT uid FROM clusters WHERE cluster_id = 'c'")
        await conn.executemany(
            "INSERT INTO consumer_group_lag_samples (cluster_uid, group_id, time, total_lag, "
            "max_lag) VALUES ($1, $2, $3::text::timestamptz, $4, $5)",
            [
                (uid, "orders-app", "2026-12-02T06:00:30Z", 7, 4),
                (uid, "orders-app", "2026-12-02T06:00:00Z", 9, 5),
                (uid, "other-app", "2026-12-02T06:00:00Z", 1, 1),
            ],
        )
    body = (await world.call("GET", h, role="viewer")).json()
    assert body["samples"] == [
        {"time": "2026-12-02T06:00:00Z", "total_lag": 9, "max_lag": 5},
        {"time": "2026-12-02T06:00:30Z", "total_lag": 7, "max_lag": 4},
    ]
    r = await world.call("GET", h, params={"start_time": "2026-12-02T06:00:10+00:00"})
    assert [s["total_lag"] for s in r.json()["samples"]] == [7]
    for bad in ("soon", "2026-12-02T06:00:10"):
        r = await world.call("GET", h, params={"start_time": bad})
        assert r.status_code == 400 and "start_time" in violations(r)
    assert (await world.call("GET", h, role="other")).status_code == 403
