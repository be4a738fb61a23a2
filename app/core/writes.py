"""The create path: one dependency for who is calling and the idempotency key, and one
transaction on a pooled asyncpg connection with no ORM session.

A create reads a few rows with prepared statements and adds new ones; the ORM's session, unit of
work and connection wrapping cost more CPU than those statements, and FastAPI resolves each
dependency separately (its parameters, its cache key, its exit stack). So `WriteDep` does
authentication and the key in one dependency, and `Write.run` keeps every guarantee of the
session path: the idempotency lock and record, the new rows and the audit record commit in one
transaction (the rows in one statement), and the messages are sent after the commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from app.core.auth import Principal, Role, authenticate, authorize
from app.core.db import Tx, write_transaction
from app.core.idempotency import (
    Idempotency,
    IdempotencyKeyHeader,
    RequestIdQuery,
    Result,
    parse_key,
)


class Write:
    """An authenticated mutation request, ready to run in a transaction."""

    __slots__ = ("key", "principal", "request")

    def __init__(self, request: Request, principal: Principal, key: str | None) -> None:
        self.request = request
        self.principal = principal
        self.key = key

    def authorize(self, project_id: str, role: Role) -> None:
        authorize(self.principal, project_id, role)

    async def run(self, mutate: Callable[[Tx], Awaitable[Result]]) -> Response:
        """`mutate` in a transaction, once per idempotency key: a repeated key replays."""
        async with write_transaction(self.request) as tx:
            idempotency = Idempotency(self.request, tx, self.principal.subject, self.key)
            return await idempotency.run(lambda: mutate(tx))


async def begin_write(
    request: Request,
    request_id: RequestIdQuery = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Write:
    principal = await authenticate(request)
    return Write(request, principal, parse_key(request_id, idempotency_key))


WriteDep = Annotated[Write, Depends(begin_write)]
