"""A generated password appears in exactly one place: the response that generated it."""

from __future__ import annotations

import logging

import pytest

from app.core.sql import row_of
from tests.integration.api.conftest import World

pytestmark = pytest.mark.anyio

C = "/v1/projects/p/clusters/c"


async def test_password_never_leaks(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    r = await world.call("POST", f"{C}/users?user_id=alice", role="editor", json={})
    assert r.status_code == 200, r.text
    password = r.json()["password"]
    op_name = r.json()["name"]
    r2 = await world.call("POST", f"{C}/users/alice:rotatePassword", role="editor", json={})
    assert r2.status_code == 200, r2.text
    rotated = r2.json()["password"]
    # Each response with the status it must have, so that a leak check of an error body that
    # never carried the password cannot pass in place of the read it stands for.
    answers = [
        # A client-given password echoed in a validation error would leak too: 8 characters
        # are too short, and PATCH does not take a password (only :rotatePassword does).
        (
            400,
            await world.call(
                "POST", f"{C}/users?user_id=bob", role="editor", json={"password": password[:8]}
            ),
        ),
        (
            400,
            await world.call(
                "PATCH", f"{C}/users/alice", role="editor", json={"password": rotated}
            ),
        ),
        (200, await world.call("GET", f"{C}/users/alice")),
        (200, await world.call("GET", f"{C}/users")),
        (200, await world.call("GET", f"/v1/{op_name}")),
        (200, await world.call("GET", f"/v1/{r2.json()['name']}")),
        (200, await world.call("GET", "/v1/projects/p/operations")),
        (200, await world.call("GET", "/v1/projects/p/audit_logs", role="owner")),
    ]
    for expected, answer in answers:
        assert answer.status_code == expected, (answer.request.url, answer.text)
        for secret in (password, rotated, password[:8]):
            assert secret not in answer.text
    logged = caplog.text
    for secret in (password, rotated, password[:8]):
        assert secret not in logged


async def test_password_is_stored_as_scram_and_ciphertext(world: World) -> None:
    from app.core.secrets import decrypt, scram_sha512

    r = await world.call("POST", f"{C}/users?user_id=carol", role="editor", json={})
    password = r.json()["password"]
    pool = world.client._transport.app.state.pool  # type: ignore[attr-defined]
    async with pool.acquire() as connection:
        user = row_of(await connection.fetchrow("SELECT * FROM users WHERE user_id = 'carol'"))
    assert password.encode() not in user.password_ciphertext
    assert decrypt(user.password_ciphertext) == password
    material = scram_sha512(password, user.scram_salt, user.scram_iterations)
    assert material.stored_key == user.scram_stored_key
    assert material.server_key == user.scram_server_key


async def test_remembered_responses_keep_secrets_encrypted(world: World) -> None:
    """A retry gets the secret back, from a record that holds it only encrypted; a response
    without a secret is remembered as sent."""
    calls = {
        "user": ("POST", f"{C}/users?user_id=dora", "password"),
        "rotate": ("POST", f"{C}/users/dora:rotatePassword", "password"),
        "token": ("POST", "/v1/projects/p/tokens?token_id=ci", "secret"),
        "topic": ("POST", f"{C}/topics?topic_id=plain", None),
    }
    secrets = {}
    for key, (method, path, field) in calls.items():
        headers = {"Idempotency-Key": f"k-{key}"}
        role = "owner" if key == "token" else "editor"
        first = await world.call(method, path, role=role, json={}, headers=headers)
        again = await world.call(method, path, role=role, json={}, headers=headers)
        assert first.status_code == again.status_code == 200, (first.text, again.text)
        assert again.json() == first.json()
        if field:
            secrets[key] = first.json()[field]
    pool = world.client._transport.app.state.pool  # type: ignore[attr-defined]
    async with pool.acquire() as connection:
        rows = await connection.fetch("SELECT * FROM idempotency_keys WHERE key LIKE 'k-%'")
    records = {r["key"]: row_of(r) for r in rows}
    for key, secret in secrets.items():
        record = records[f"k-{key}"]
        assert record.body_encrypted and secret.encode() not in record.body, key
    assert not records["k-topic"].body_encrypted
    assert b'"name":"projects/p/operations/' in records["k-topic"].body
