"""The create path: one dependency for who is calling and the idempotency key, and two round trips
to Postgres on a pooled asyncpg connection with no ORM session and no open transaction.

A create reads its cluster with a prepared statement, validates, and adds new rows; the ORM's
session, unit of work and connection wrapping cost more CPU than those statements, and FastAPI
resolves each dependency separately. So `WriteDep` does authentication and the key in one
dependency, and `Write.run` keeps every guarantee of the session path with fewer statements:

1. the reads run on their own (no BEGIN: nothing is locked while Python validates);
2. one statement claims the idempotency key (its lock, then its record, see
   kplane_idempotency_claim), checks that what the reads relied on is unchanged (the cluster's
   version, share-locked, see `Tx.hold`), and only then inserts the new rows — the resource,
   its Operation, the key's record and the audit record. One statement is one transaction:
   all of it commits, or none. A unique index that refuses the resource (it exists) is
   explained by the domain (`Tx.on_conflict`).

If the cluster changed in between, nothing was written and the create runs again from the reads.
The messages are sent after that statement committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from asyncpg import UniqueViolationError
from fastapi import Depends, Request
from starlette.responses import Response

from app.core import audit
from app.core.auth import Principal, Role, authenticate, authorize
from app.core.db import Claim, Tx, insert_rows, land, read_connection, run_after_commit
from app.core.errors import ApiError, aborted
from app.core.idempotency import (
    IdempotencyKeyHeader,
    RequestIdQuery,
    Result,
    expired,
    forget,
    in_flight,
    lock_id,
    parse_key,
    read_stored,
    remember,
    replay,
    request_hash_of,
)

# A create whose cluster keeps changing under it (each time between its read and its write)
# gives up after this many tries and asks the client to retry.
_ATTEMPTS = 5


class Write:
    """An authenticated create request."""

    __slots__ = ("key", "principal", "request")

    def __init__(self, request: Request, principal: Principal, key: str | None) -> None:
        self.request = request
        self.principal = principal
        self.key = key

    def authorize(self, project_id: str, role: Role) -> None:
        authorize(self.principal, project_id, role)

    async def run(self, mutate: Callable[[Tx], Awaitable[Result]]) -> Response:
        """`mutate` (its reads, checks and new rows), then its rows written in one statement,
        once per idempotency key: a repeated key replays the first response."""
        principal, key = self.principal.subject, self.key
        claim = None if key is None else Claim(lock_id(principal, key), principal, key)
        request_hash = "" if key is None else await request_hash_of(self.request)
        for _ in range(_ATTEMPTS):
            async with read_connection(self.request) as connection:
                tx = Tx(connection)
                try:
                    result = await mutate(tx)
                except ApiError:
                    # A retry of a create that succeeded fails its checks (the topic exists
                    # now): the key's response, if it has one, answers it instead.
                    stored = None if key is None else await read_stored(connection, principal, key)
                    if stored is None:
                        raise
                    return await self._replay(connection, stored, request_hash)
                audit.record_success(tx, self.request)
                if key is not None:
                    remember(tx, principal, key, request_hash, result)
                try:
                    landing = await land(tx, claim)
                except UniqueViolationError:
                    if tx.conflict is None:
                        raise
                    raise await tx.conflict() from None
                if landing.written:
                    break
                if not landing.locked:
                    raise in_flight()
                if landing.stored is not None:
                    if not expired(landing.stored):
                        return await self._replay(connection, landing.stored, request_hash)
                    assert key is not None
                    await forget(connection, principal, key)
                # else a held row (the cluster) changed since it was read: read it again.
        else:
            raise aborted(
                "CONCURRENT_CHANGE",
                "the cluster kept changing while the request ran; retry the request",
            )
        await run_after_commit(tx)
        return result.response()

    async def _replay(
        self, connection: object, stored: Mapping[str, Any], request_hash: str
    ) -> Response:
        response = replay(self.request, stored, request_hash)
        record = Tx(connection)
        audit.record_success(record, self.request)
        await insert_rows(record, record.new)
        return response


async def begin_write(
    request: Request,
    request_id: RequestIdQuery = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Write:
    principal = await authenticate(request)
    return Write(request, principal, parse_key(request_id, idempotency_key))


WriteDep = Annotated[Write, Depends(begin_write)]
