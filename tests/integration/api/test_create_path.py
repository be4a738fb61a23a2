"""A create reads without a transaction and writes in one statement that holds what it read.

The write statement share-locks the cluster and inserts only if the cluster is still at the
version the create read; otherwise it writes nothing and the create reads and validates again.
Real Postgres; the interleavings are made with locks (the server-side tests) or by changing the
cluster between the create's read and its write (the in-process tests), never with sleeps.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import psycopg
import pytest

from app.clusters import repository as clusters
from app.core.db import Claim, Tx, add_row, land
from app.core.idempotency import lock_id
from app.models import AuditRecord
from devstack.proc import wait_until
from tests.conftest import LiveApi
from tests.integration.api.conftest import World, live_project

pytestmark = pytest.mark.anyio

C = "/v1/projects/p/clusters/c"


def change_cluster_after_read(monkeypatch: pytest.MonkeyPatch, change: str) -> list[int]:
    """Make the next create find its cluster changed by the UPDATE `change` (SET ...) at its
    write: the UPDATE runs on the create's own connection (the in-process app's one connection)
    right after the create's read. Returns the cluster versions each read of the create held."""
    holds: list[int] = []
    original = clusters.hold_cluster
    pending: list[Any] = []

    def hold(tx: Tx, cluster: Any) -> None:
        original(tx, cluster)
        holds.append(cluster.version)
        if len(holds) == 1:
            sql = f"UPDATE clusters SET {change}, version = version + 1 WHERE uid = $1"
            pending.append(tx.connection.execute(sql, cluster.uid))

    async def land_after_change(tx: Tx, claim: Claim | None = None) -> Any:
        while pending:
            await pending.pop()
        return await land(tx, claim)

    monkeypatch.setattr(clusters, "hold_cluster", hold)
    monkeypatch.setattr("app.core.writes.land", land_after_change)
    return holds


async def test_a_cluster_deleted_between_read_and_write_gets_no_topic(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    holds = change_cluster_after_read(monkeypatch, "delete_time = now()")
    r = await world.call("POST", f"{C}/topics?topic_id=late", role="editor", json={})
    assert r.status_code == 409 and r.json()["error"]["details"][0]["reason"] == (
        "CLUSTER_DELETING"
    ), r.text
    assert len(holds) == 2, "the write found the cluster changed, and the create read it again"
    r = await world.call("GET", f"{C}/topics/late")
    assert r.status_code == 404


async def test_a_cluster_shrunk_between_read_and_write_is_validated_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    holds = change_cluster_after_read(monkeypatch, "broker_count = 1")
    r = await world.call(
        "POST", f"{C}/topics?topic_id=wide", role="editor", json={"replication_factor": 3}
    )
    assert r.status_code == 400, r.text
    assert "replication_factor" in r.text
    assert holds[1] == holds[0] + 1, "validated again against the changed cluster"
    r = await world.call("GET", f"{C}/topics/wide")
    assert r.status_code == 404


# The write statement itself, on a server's database: concurrency with real connections.


def audit_row(tx: Tx, target: str) -> None:
    add_row(
        tx,
        AuditRecord,
        project_id="land",
        principal="test",
        action="land",
        target=target,
        request_id="r",
        result_code=200,
        result="OK",
        message="",
    )


async def cluster_of(live_api: LiveApi) -> tuple[str, uuid.UUID, int]:
    async with httpx.AsyncClient(base_url=live_api.base_url, timeout=30) as c:
        project = await live_project(c, live_api.admin)
    with psycopg.connect(plain(live_api)) as db:
        row = db.execute(
            "SELECT uid, version FROM clusters WHERE project_id = %s", (project,)
        ).fetchone()
    assert row is not None
    return project, row[0], row[1]


def plain(live_api: LiveApi) -> str:
    return live_api.database_url.replace("+asyncpg", "")


def written(live_api: LiveApi, target: str) -> int:
    with psycopg.connect(plain(live_api)) as db:
        row = db.execute("SELECT count(*) FROM audit_logs WHERE target = %s", (target,)).fetchone()
    assert row is not None
    return int(row[0])


def waiting_on_a_lock(live_api: LiveApi) -> bool:
    with psycopg.connect(plain(live_api), autocommit=True) as db:
        row = db.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()
    return row is not None and row[0] >= 1


@pytest.mark.parametrize("other_commits", [True, False], ids=["changed", "rolled-back"])
async def test_the_write_waits_for_a_cluster_change_in_progress(
    live_api: LiveApi, other_commits: bool
) -> None:
    _, uid, version = await cluster_of(live_api)
    target = f"land-{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(plain(live_api))
    other = psycopg.connect(plain(live_api))
    try:
        # A cluster change in progress: its row locked for update, its version moved.
        other.execute("UPDATE clusters SET version = version + 1 WHERE uid = %s", (uid,))
        tx = Tx(connection)
        tx.hold("clusters", uid, version)
        audit_row(tx, target)
        writing = asyncio.ensure_future(land(tx))
        await asyncio.to_thread(
            wait_until, lambda: waiting_on_a_lock(live_api), 10, "the write to wait", 0.01
        )
        assert not writing.done()
        other.commit() if other_commits else other.rollback()
        landing = await asyncio.wait_for(writing, 10)
        assert landing.written is not other_commits and landing.held is not other_commits
        assert written(live_api, target) == (0 if other_commits else 1)
    finally:
        other.close()
        await connection.close()


async def test_the_write_refuses_a_key_in_flight_and_replays_a_stored_one(
    live_api: LiveApi,
) -> None:
    _, uid, version = await cluster_of(live_api)
    principal, key = "user:land", f"k-{uuid.uuid4().hex[:8]}"
    claim = Claim(lock_id(principal, key), principal, key)
    connection = await asyncpg.connect(plain(live_api))
    try:
        with psycopg.connect(plain(live_api)) as holder:
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (claim.lock_id,))
            tx = Tx(connection)
            tx.hold("clusters", uid, version)
            audit_row(tx, f"{key}-a")
            landing = await land(tx, claim)
            assert (landing.written, landing.locked) == (False, False)
            holder.execute(
                "INSERT INTO idempotency_keys (principal, key, request_hash, status_code, body, "
                "body_encrypted, etag, create_time) VALUES (%s, %s, 'h', 200, '{}', false, '', "
                "now())",
                (principal, key),
            )
        tx = Tx(connection)
        tx.hold("clusters", uid, version)
        audit_row(tx, f"{key}-b")
        landing = await land(tx, claim)
        assert (landing.written, landing.locked) == (False, True)
        assert landing.stored is not None and landing.stored["request_hash"] == "h"
        assert written(live_api, f"{key}-a") == written(live_api, f"{key}-b") == 0
    finally:
        await connection.close()
