"""Users (app/users/): generated and chosen passwords, rotation, quotas, on real Postgres."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import World
from tests.integration.api.error_body import violations

pytestmark = pytest.mark.anyio

C = "/v1/projects/p/clusters/c"


async def test_users_and_passwords(world: World) -> None:
    r = await world.call(
        "POST",
        f"{C}/users?user_id=alice",
        role="editor",
        json={"quotas": {"producer_byte_rate": 1048576}},
    )
    assert r.status_code == 200
    password = r.json()["password"]
    assert len(password) == 32
    u = f"{C}/users/alice"
    body = (await world.call("GET", u)).json()
    assert body["principal"] == "User:alice" and "password" not in body
    assert body["quotas"] == {"producer_byte_rate": 1048576}
    r = await world.call(
        "POST", f"{C}/users?user_id=bob", role="editor", json={"password": "short"}
    )
    assert r.status_code == 400 and "password" in violations(r)
    assert "short" not in r.text
    r = await world.call(
        "POST",
        f"{C}/users?user_id=carol",
        role="editor",
        json={"password": "a-long-client-chosen-secret"},
    )
    assert r.json()["password"] == "a-long-client-chosen-secret"
    r = await world.call("POST", f"{u}:rotatePassword", role="editor", json={})
    assert r.status_code == 200 and r.json()["password"] != password
    assert (await world.call("GET", u)).json()["generation"] == 2
    r = await world.call("PATCH", u, role="editor", json={"password": "another-long-secret"})
    assert r.status_code == 400
    r = await world.call("PATCH", u, role="editor", json={"quotas": {"request_percentage": 50.0}})
    assert r.status_code == 200
    assert (await world.call("GET", u)).json()["quotas"] == {"request_percentage": 50.0}
