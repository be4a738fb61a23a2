"""The idempotency claim reads a key's record after taking its lock, with a fresh snapshot.

The interleaving that matters is: a retry's statement starts (its snapshot is taken), the first
request commits (its record appears, its lock goes), the retry takes the lock. A read in the
statement's snapshot misses the record and the retry acts a second time. Here the retry's
statement is made to wait on another advisory lock *before* it reaches the claim, the first
request commits meanwhile, and the claim must still see the record. Real Postgres, locks only,
no sleeps.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from app.core.idempotency import lock_id
from devstack.postgres import LocalPostgres
from devstack.proc import wait_until
from tests.conftest import migrate

GATE = 424242  # an advisory lock id the test holds to pause the retry's statement


@pytest.fixture(scope="module")
def dsn(postgres: LocalPostgres) -> str:
    url = postgres.create_database("kplane_idem_snapshot")
    migrate(url)
    return url.replace("postgresql+asyncpg", "postgresql")


def test_a_response_committed_after_the_statement_began_is_replayed(dsn: str) -> None:
    principal, key = "user:alice", "k-1"
    lock = lock_id(principal, key)
    first = psycopg.connect(dsn)
    gate = psycopg.connect(dsn)
    retry = psycopg.connect(dsn)
    try:
        # The first request holds the key's lock and writes its record, not yet committed.
        first.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
        first.execute(
            "INSERT INTO idempotency_keys (principal, key, request_hash, status_code, body, "
            "body_encrypted, etag, create_time) VALUES (%s, %s, 'h', 200, 'x', false, '', now())",
            (principal, key),
        )
        gate.execute("SELECT pg_advisory_xact_lock(%s)", (GATE,))
        result: dict[str, Any] = {}

        def run_retry() -> None:
            # Waits on GATE inside the statement, i.e. after its snapshot, then claims the key.
            row = retry.execute(
                "SELECT c.* FROM (SELECT pg_advisory_xact_lock(%s)) AS g, "
                "LATERAL kplane_idempotency_claim(%s, %s, %s) AS c",
                (GATE, lock, principal, key),
            ).fetchone()
            result["row"] = row
            retry.rollback()

        thread = threading.Thread(target=run_retry)
        thread.start()
        with psycopg.connect(dsn, autocommit=True) as watcher:
            wait_until(
                lambda: (
                    watcher.execute(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    ).fetchone()[0]  # type: ignore[index]
                    == 1
                ),
                10,
                "the retry's statement to wait on the gate",
                interval=0.01,
            )
        first.commit()  # the record appears, the key's lock goes
        gate.commit()  # the retry's statement goes on to the claim
        thread.join(10)
        assert not thread.is_alive()
        locked, request_hash, status_code, _body, _encrypted, _created = result["row"]
        assert locked is True
        assert (request_hash, status_code) == ("h", 200), "the committed response was missed"
    finally:
        for conn in (first, gate, retry):
            conn.close()


def test_a_key_in_flight_is_not_claimed(dsn: str) -> None:
    principal, key = "user:bob", "k-2"
    lock = lock_id(principal, key)
    with psycopg.connect(dsn) as holder, psycopg.connect(dsn) as other:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
        row = other.execute(
            "SELECT * FROM kplane_idempotency_claim(%s, %s, %s)", (lock, principal, key)
        ).fetchone()
        assert row is not None and row[0] is False
        fresh = other.execute(
            "SELECT * FROM kplane_idempotency_claim(%s, %s, %s)", (lock + 1, principal, "k-3")
        ).fetchone()
        assert fresh == (True, None, None, None, None, None)
