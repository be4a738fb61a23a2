"""The request boundary of every mutation: every POST, PATCH, DELETE and custom verb of every
domain passes `MutationDep`, and nothing else writes desired state.

One dependency does who is calling (authentication; the endpoint authorizes), and `run` does the
rest, the same way for a create, an update, a delete or a verb:

1. the domain's `mutate(unit)` reads on a pooled connection with no transaction open, checks its
   rules and stages its writes in the Unit (new rows, changes and removals of rows it read, rows
   it relies on);
2. the audit record and the idempotency key's record of the response join the unit;
3. `land` writes all of it in ONE statement (one round trip, one transaction) that claims the
   idempotency key and checks that every row read is still at the version read — an etag's
   promise — or writes nothing. A unique index that refuses a new row is explained by the
   domain (`Unit.on_conflict`) as a 409;
4. if a row changed in between, the mutation runs again from its reads (an etag given by the
   client then no longer matches: 409/412); a key in flight is a 409 with Retry-After, a key
   with a stored response replays it;
5. after the statement committed, the unit's after-commit callbacks send the reconcile messages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from asyncpg import UniqueViolationError
from fastapi import Depends, Request
from starlette.responses import Response

from app.core import audit
from app.core.auth import Principal, Role, authenticate, authorize
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
from app.core.pools import Connection, connection
from app.core.unit import Claim, Landing, Unit, land, run_after_commit

# A mutation whose rows keep changing under it (each time between its reads and its write)
# gives up after this many tries and asks the client to retry.
_ATTEMPTS = 5

Mutate = Callable[[Unit], Awaitable[Result]]
# What a landing that must run again from its reads looks like (a held row changed, or a unique
# index refused a row that a concurrent request has just written and the domain can build on).
_READ_AGAIN = Landing(written=False, held=False, locked=True, stored=None)


class Mutation:
    """An authenticated mutation request."""

    __slots__ = ("key", "principal", "request")

    def __init__(self, request: Request, principal: Principal, key: str | None) -> None:
        self.request = request
        self.principal = principal
        self.key = key

    def authorize(self, project_id: str, role: Role) -> None:
        authorize(self.principal, project_id, role)

    async def run(self, mutate: Mutate) -> Response:
        """`mutate` (its reads, checks and staged writes), then its writes in one statement, once
        per idempotency key: a repeated key replays the first response."""
        principal, key = self.principal.subject, self.key
        claim = None if key is None else Claim(lock_id(principal, key), principal, key)
        request_hash = "" if key is None else await request_hash_of(self.request)
        for _ in range(_ATTEMPTS):
            async with connection(self.request) as conn:
                unit = Unit(conn)
                try:
                    landing, result = await self._attempt(unit, mutate, claim, request_hash)
                except ApiError:
                    await unit.release()
                    # A retry of a mutation that succeeded fails its checks (the topic exists
                    # now, the etag moved on): the key's response, if it has one, answers it.
                    stored = None if key is None else await read_stored(conn, principal, key)
                    if stored is None:
                        raise
                    return await self._replay(conn, stored, request_hash)
                finally:
                    await unit.release()
                if landing.written:
                    await run_after_commit(unit)
                    return result.response()
                if not landing.locked:
                    raise in_flight()
                if landing.stored is not None:
                    if not expired(landing.stored):
                        return await self._replay(conn, landing.stored, request_hash)
                    assert key is not None
                    await forget(conn, principal, key)
                # else a row read changed since it was read: read it again.
        raise aborted(
            "CONCURRENT_CHANGE",
            "the resource kept changing while the request ran; retry the request",
        )

    async def _attempt(
        self, unit: Unit, mutate: Mutate, claim: Claim | None, request_hash: str
    ) -> tuple[Landing, Result]:
        result = await mutate(unit)
        audit.record_success(unit, self.request)
        if claim is not None:
            remember(unit, claim.principal, claim.key, request_hash, result)
        try:
            return await land(unit, claim), result
        except UniqueViolationError:
            if unit.conflict is None:
                raise
            await unit.release()
            explained = await unit.conflict()
            if explained is None:
                return _READ_AGAIN, result
            raise explained from None

    async def _replay(
        self, conn: Connection, stored: Mapping[str, Any], request_hash: str
    ) -> Response:
        response = replay(self.request, stored, request_hash)
        record = Unit(conn)
        audit.record_success(record, self.request)
        await land(record)
        return response


async def begin_mutation(
    request: Request,
    request_id: RequestIdQuery = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Mutation:
    principal = await authenticate(request)
    return Mutation(request, principal, parse_key(request_id, idempotency_key))


MutationDep = Annotated[Mutation, Depends(begin_mutation)]
