"""The unit of work's one statement (app/core/unit.py) on a real server: it writes everything or
nothing, only if every row read is unchanged, waits for a change in progress, refuses a key in
flight, and a unit that took a lock runs in one transaction. Interleavings are made with locks
held by other connections, never with sleeps."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import psycopg
import pytest

from app.core.idempotency import lock_id
from app.core.sql import row_of
from app.core.unit import Claim, Unit, land
from app.models import AuditRecord, Cluster, Topic
from devstack.proc import wait_until
from tests.conftest import LiveApi
from tests.integration.api.conftest import live_project

pytestmark = pytest.mark.anyio


def audit_row(unit: Unit, target: str) -> None:
    unit.add(
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


def held(uid: uuid.UUID, version: int) -> Any:
    """A row as a read returns it, for `Unit.hold`."""
    return row_of({"uid": uid, "version": version})


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
        unit = Unit(connection)
        unit.hold(Cluster, held(uid, version))
        audit_row(unit, target)
        writing = asyncio.ensure_future(land(unit))
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
            unit = Unit(connection)
            unit.hold(Cluster, held(uid, version))
            audit_row(unit, f"{key}-a")
            landing = await land(unit, claim)
            assert (landing.written, landing.locked) == (False, False)
            holder.execute(
                "INSERT INTO idempotency_keys (principal, key, request_hash, status_code, body, "
                "body_encrypted, etag, create_time) VALUES (%s, %s, 'h', 200, '{}', false, '', "
                "now())",
                (principal, key),
            )
        unit = Unit(connection)
        unit.hold(Cluster, held(uid, version))
        audit_row(unit, f"{key}-b")
        landing = await land(unit, claim)
        assert (landing.written, landing.locked) == (False, True)
        assert landing.stored is not None and landing.stored["request_hash"] == "h"
        assert written(live_api, f"{key}-a") == written(live_api, f"{key}-b") == 0
    finally:
        await connection.close()


async def test_a_change_of_a_row_read_at_an_old_version_writes_nothing(live_api: LiveApi) -> None:
    """The etag's promise: an UPDATE applies to the version its caller read, and when the row
    moved on, nothing of the unit is written (not its audit record either)."""
    _, uid, version = await cluster_of(live_api)
    connection = await asyncpg.connect(plain(live_api))
    target = f"stale-{uuid.uuid4().hex[:8]}"
    try:
        stale = row_of(await connection.fetchrow("SELECT * FROM clusters WHERE uid = $1", uid))
        await connection.execute("UPDATE clusters SET version = version + 1 WHERE uid = $1", uid)
        storage = stale.storage_gib
        unit = Unit(connection)
        unit.change(Cluster, stale, storage_gib=storage + 1)
        audit_row(unit, target)
        landing = await land(unit)
        assert (landing.written, landing.held) == (False, False)
        row = await connection.fetchrow(
            "SELECT version, storage_gib FROM clusters WHERE uid = $1", uid
        )
        assert (row["version"], row["storage_gib"]) == (version + 1, storage)
        assert written(live_api, target) == 0
        fresh = row_of(await connection.fetchrow("SELECT * FROM clusters WHERE uid = $1", uid))
        unit = Unit(connection)
        unit.change(Cluster, fresh, storage_gib=fresh.storage_gib + 1)
        audit_row(unit, target)
        assert (await land(unit)).written
        row = await connection.fetchrow(
            "SELECT version, storage_gib FROM clusters WHERE uid = $1", uid
        )
        assert (row["version"], row["storage_gib"]) == (version + 2, storage + 1)
        assert written(live_api, target) == 1
    finally:
        await connection.close()


async def test_a_failing_statement_writes_none_of_its_rows(live_api: LiveApi) -> None:
    """One statement is one transaction: a part that fails (here a topic of a cluster that does
    not exist: a foreign key) takes back the parts that did not."""
    connection = await asyncpg.connect(plain(live_api))
    target = f"atomic-{uuid.uuid4().hex[:8]}"
    try:
        unit = Unit(connection)
        audit_row(unit, target)
        unit.add(
            Topic,
            uid=uuid.uuid4(),
            cluster_uid=uuid.uuid4(),
            project_id="x",
            cluster_id="y",
            topic_id="t",
            collision_key="t",
            partition_count=1,
            replication_factor=1,
            configs={},
            labels={},
        )
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await land(unit)
        assert written(live_api, target) == 0
    finally:
        await connection.close()


async def test_a_locked_unit_runs_in_one_transaction(live_api: LiveApi) -> None:
    """`Unit.lock` holds its row lock until the landing commits, and a unit that does not land
    (released) leaves nothing behind and unlocks."""
    _, uid, _ = await cluster_of(live_api)
    connection = await asyncpg.connect(plain(live_api))
    other = await asyncpg.connect(plain(live_api))
    try:
        unit = Unit(connection)
        found = row_of(await unit.lock("SELECT * FROM clusters WHERE uid = $1 FOR UPDATE", uid))
        storage = found.storage_gib
        unit.change(Cluster, found, storage_gib=storage + 5)
        blocked = asyncio.ensure_future(
            other.fetchval("SELECT storage_gib FROM clusters WHERE uid = $1 FOR UPDATE", uid)
        )
        await asyncio.to_thread(
            wait_until, lambda: waiting_on_a_lock(live_api), 10, "the reader to wait", 0.01
        )
        assert (await land(unit)).written
        assert await asyncio.wait_for(blocked, 10) == storage + 5
        unit = Unit(connection)
        again = row_of(await unit.lock("SELECT * FROM clusters WHERE uid = $1 FOR UPDATE", uid))
        unit.change(Cluster, again, storage_gib=again.storage_gib + 5)
        await unit.release()
        value = await asyncio.wait_for(
            other.fetchval(
                "SELECT storage_gib FROM clusters WHERE uid = $1 FOR UPDATE NOWAIT", uid
            ),
            10,
        )
        assert value == storage + 5
    finally:
        await other.close()
        await connection.close()
