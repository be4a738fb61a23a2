"""The API's connections to Postgres: one asyncpg pool per process, opened by the app's lifespan.

Every read and every mutation of a request takes a connection from it; there is no ORM session
in the API (the ORM's per-object machinery cost more CPU than the statements themselves).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg
import orjson
from fastapi import Request

Connection = Any  # an asyncpg connection (asyncpg ships no type stubs)


async def make_pool(url: str, size: int = 20) -> asyncpg.Pool:
    """A pool whose connections decode JSON with orjson and are not reset on release."""

    async def codecs(connection: Connection) -> None:
        for name in ("json", "jsonb"):
            await connection.set_type_codec(
                name,
                schema="pg_catalog",
                encoder=lambda v: orjson.dumps(v).decode(),
                decoder=orjson.loads,
            )

    async def keep_session(connection: Connection) -> None:
        """Nothing to reset: the API sets no session state (no SET, LISTEN, cursors or session
        advisory locks; its locks are transaction-scoped), and asyncpg still rolls back an open
        transaction. The default reset costs a round trip on every release."""

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    return await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=size,
        init=codecs,
        reset=keep_session,
        timeout=5,
        server_settings={"application_name": "kplane-api"},
    )


def connection(request: Request) -> AbstractAsyncContextManager[Connection]:
    """A connection of the app's pool, autocommit outside an explicit transaction."""
    pool: asyncpg.Pool = request.app.state.pool
    return pool.acquire()  # type: ignore[no-any-return]
