"""The workers' database boundary: one synchronous engine per process (psycopg) and the
per-cluster advisory lock that keeps two reconciles of one cluster from ever overlapping."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.core.settings import get_settings


@lru_cache(maxsize=1)
def engine() -> Engine:
    # Small pool: a worker process runs one task at a time (prefetch 1, one lock connection
    # plus one session connection); pre-ping survives a restarted Postgres.
    return create_engine(
        get_settings().sync_database_url, pool_size=2, max_overflow=2, pool_pre_ping=True
    )


@lru_cache(maxsize=1)
def sessions() -> sessionmaker[Session]:
    return sessionmaker(engine(), expire_on_commit=False)


def lock_key(scope: str, uid: uuid.UUID | str) -> int:
    """A signed 64-bit advisory-lock key for (scope, uid): a hash, so no table is needed."""
    digest = hashlib.blake2b(f"kplane:{scope}:{uid}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def advisory_lock(scope: str, uid: uuid.UUID | str) -> Iterator[bool]:
    """Try the session-level advisory lock for (scope, uid) on a connection of its own.

    Yields True when held. Session level (not transaction level) because a reconcile commits
    several times; the lock lives as long as this connection, so a SIGKILLed worker's lock
    disappears with its TCP connection and nobody has to clean up.
    """
    key = lock_key(scope, uid)
    with engine().connect() as conn:
        held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()
        try:
            yield held
        finally:
            if held:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
