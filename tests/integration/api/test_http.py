"""What every endpoint shares (app/core/): malformed and oversized bodies, unknown routes and
methods, in-process idempotency replays, the per-principal rate limit."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import World
from tests.integration.api.error_body import reason, violations

pytestmark = pytest.mark.anyio

C = "/v1/projects/p/clusters/c"


async def test_request_errors(world: World) -> None:
    r = await world.call(
        "POST",
        f"{C}/topics?topic_id=x",
        role="editor",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    big = b'{"labels": {"a": "' + b"x" * (1024 * 1024) + b'"}}'
    r = await world.call(
        "POST",
        f"{C}/topics?topic_id=x",
        role="editor",
        content=big,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == 413
    r = await world.call("PUT", C, role="editor", json={})
    assert r.status_code == 405 and "error" in r.json()
    r = await world.call("GET", "/v1/nothing/here")
    assert r.status_code == 404 and "error" in r.json()
    r = await world.call(
        "POST", f"{C}/topics?topic_id=x&request_id=not-a-uuid", role="editor", json={}
    )
    assert r.status_code == 400 and "request_id" in violations(r)


async def test_idempotency_in_process(world: World) -> None:
    key = {"Idempotency-Key": "same-key"}
    first = await world.call(
        "POST", f"{C}/topics?topic_id=idem", role="editor", json={}, headers=key
    )
    again = await world.call(
        "POST", f"{C}/topics?topic_id=idem", role="editor", json={}, headers=key
    )
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    other = await world.call(
        "POST", f"{C}/topics?topic_id=idem", role="editor", json={"partition_count": 2}, headers=key
    )
    assert other.status_code == 422 and reason(other) == "IDEMPOTENCY_KEY_REUSED"
    # A user-create replay returns the same password: stored encrypted, never in clear.
    u1 = await world.call(
        "POST", f"{C}/users?user_id=dave", role="editor", json={}, headers={"Idempotency-Key": "u"}
    )
    u2 = await world.call(
        "POST", f"{C}/users?user_id=dave", role="editor", json={}, headers={"Idempotency-Key": "u"}
    )
    assert u1.json()["password"] == u2.json()["password"]


async def test_rate_limit_answers_429_with_retry_after(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core import auth
    from app.core.settings import get_settings

    monkeypatch.setattr(get_settings(), "rate_limit_per_second", 0.5)
    monkeypatch.setattr(get_settings(), "rate_limit_burst", 3)
    auth._buckets.clear()
    codes = [(await world.call("GET", C, role="viewer")).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    r = await world.call("GET", C, role="viewer")
    assert r.status_code == 429
    assert r.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert int(r.headers["retry-after"]) >= 1
    # Another caller has its own budget.
    assert (await world.call("GET", C, role="editor")).status_code == 200
    auth._buckets.clear()
