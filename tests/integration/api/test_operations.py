"""Operations (app/operations/): reads, long polls, filters and :cancel, on real Postgres."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import World

pytestmark = pytest.mark.anyio

C = "/v1/projects/p/clusters/c"


async def test_operations(world: World) -> None:
    r = await world.call("POST", f"{C}/topics?topic_id=t", role="editor", json={})
    op = r.json()
    op_path = "/v1/" + op["name"]
    r = await world.call("GET", op_path, role="viewer")
    assert r.status_code == 200 and r.json()["done"] is False
    r = await world.call("GET", f"{op_path}?wait_seconds=0.3", role="viewer")
    assert r.status_code == 200 and r.json()["done"] is False
    r = await world.call("GET", f"{op_path}?wait_seconds=61", role="viewer")
    assert r.status_code == 400
    r = await world.call("GET", "/v1/projects/p/operations?filter=done = false", role="viewer")
    assert op["name"] in [o["name"] for o in r.json()["operations"]]
    r = await world.call(
        "GET",
        "/v1/projects/p/operations",
        params={"filter": 'target = "projects/p/clusters/c/topics/*"'},
    )
    assert [o["name"] for o in r.json()["operations"]] == [op["name"]]
    r = await world.call("POST", f"{op_path}:cancel", role="viewer")
    assert r.status_code == 403
    r = await world.call("POST", f"{op_path}:cancel", role="editor")
    assert r.status_code == 200 and r.json()["metadata"]["cancel_requested"] is True
    r = await world.call("GET", "/v1/projects/p/operations/op-missing")
    assert r.status_code == 404


async def test_get_operation_answers_if_none_match_with_304(world: World) -> None:
    r = await world.call("POST", f"{C}/topics?topic_id=polled", role="editor", json={})
    name = r.json()["name"]
    first = await world.call("GET", f"/v1/{name}", role="viewer")
    etag = first.headers["ETag"]
    assert etag.strip('"') == first.json()["etag"]
    again = await world.call("GET", f"/v1/{name}", role="viewer", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = await world.call(
        "GET", f"/v1/{name}", role="viewer", headers={"If-None-Match": '"not-it"'}
    )
    assert other.status_code == 200 and other.json() == first.json()
