"""Safe retries (AIP-155): the same `request_id` / `Idempotency-Key` with the same body within
24 h returns the first response; with another body, 422; while the first is in flight, 409 with
Retry-After.

"In flight" is a Postgres advisory lock held by the first request's transaction, and the stored
response is written in that same transaction: a crash releases the lock and stores nothing, so
no key is ever stuck, and a response is stored exactly when its mutation committed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Query, Request
from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.core.auth import PrincipalDep
from app.core.db import SessionDep, Unit, add_row
from app.core.errors import ApiError, invalid_field
from app.core.fastread import execute, fetch_resource
from app.core.responses import Json
from app.core.secrets import decrypt_bytes, encrypt_bytes
from app.core.settings import get_settings
from app.models import IdempotencyRecord
from app.models.base import utcnow


@dataclass
class Result:
    """What a mutation produced: a JSON body and its status code."""

    body: dict[str, Any]
    status_code: int = 200

    def response(self) -> Response:
        headers = {"ETag": f'"{self.body["etag"]}"'} if "etag" in self.body else {}
        return Json(self.body, status_code=self.status_code, headers=headers)


# Takes the key's transaction-scoped lock (without waiting) and reads what the key stored, in one
# round trip; the read runs after the lock, with a fresh snapshot (see the migration that
# creates the function): a first request that committed a moment ago is replayed, not repeated.
_LOCK_AND_READ = (
    "SELECT c.locked, c.request_hash, c.status_code, c.body_ciphertext, c.create_time, "
    "NULL AS s_resource_uid FROM kplane_idempotency_claim($1, $2, $3) AS c"
)
_DELETE = "DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2"


def _lock_id(principal: str, key: str) -> int:
    digest = hashlib.sha256(f"{principal}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Idempotency:
    def __init__(self, request: Request, session: Unit, principal: str, key: str | None) -> None:
        self.request = request
        self.session = session
        self.principal = principal
        self.key = key

    async def _request_hash(self) -> str:
        body = await self.request.body()
        query = sorted(
            (k, v) for k, v in self.request.query_params.multi_items() if k != "request_id"
        )
        material = orjson.dumps([self.request.method, self.request.scope["path"], query]) + body
        return hashlib.sha256(material).hexdigest()

    async def run(self, mutate: Callable[[], Awaitable[Result]]) -> Response:
        if self.key is None:
            return (await mutate()).response()
        request_hash = await self._request_hash()
        # One round trip: take the key's lock, then read what it stored, if anything.
        found = await fetch_resource(
            self.session,
            _LOCK_AND_READ,
            _lock_id(self.principal, self.key),
            self.principal,
            self.key,
        )
        assert found is not None  # the query always returns one row
        row = found[0]
        if not row.locked:
            raise ApiError(
                409,
                "REQUEST_IN_FLIGHT",
                "a request with this idempotency key is still being processed",
                status="ABORTED",
                headers={"Retry-After": "1"},
            )
        stored = row if row.request_hash is not None else None
        ttl = timedelta(hours=get_settings().idempotency_ttl_hours)
        if stored is not None and stored.create_time < utcnow() - ttl:
            await execute(self.session, _DELETE, self.principal, self.key)
            stored = None
        if stored is not None:
            if stored.request_hash != request_hash:
                raise ApiError(
                    422,
                    "IDEMPOTENCY_KEY_REUSED",
                    "this idempotency key was used with a different request",
                    status="INVALID_ARGUMENT",
                )
            self.request.state.audit_note = "replayed"
            body = orjson.loads(decrypt_bytes(stored.body_ciphertext))
            return Result(body, stored.status_code).response()
        result = await mutate()
        add_row(
            self.session,
            IdempotencyRecord,
            principal=self.principal,
            key=self.key,
            request_hash=request_hash,
            status_code=result.status_code,
            body_ciphertext=encrypt_bytes(orjson.dumps(result.body)),
            create_time=utcnow(),
        )
        return result.response()


async def purge_expired(session: AsyncSession) -> int:
    """Delete remembered responses older than the retention window (run by the sweeper)."""
    ttl = timedelta(hours=get_settings().idempotency_ttl_hours)
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.create_time < func.now() - ttl)
    )
    return int(getattr(result, "rowcount", 0) or 0)


RequestIdQuery = Annotated[
    str | None,
    Query(
        description="Idempotency key (a UUID); the same key and body return the first "
        "response for 24 hours."
    ),
]
IdempotencyKeyHeader = Annotated[str | None, Header(alias="Idempotency-Key")]


def parse_key(request_id: str | None, idempotency_key: str | None) -> str | None:
    """The request's idempotency key: `request_id` (a UUID) or the `Idempotency-Key` header."""
    key = request_id if request_id is not None else idempotency_key
    if key is None:
        return None
    if request_id is not None:
        try:
            uuid.UUID(request_id)
        except ValueError:
            raise invalid_field("request_id", "must be a UUID") from None
    if not key or len(key) > 200 or not key.isprintable():
        raise invalid_field("Idempotency-Key", "must be 1-200 printable characters")
    return key


async def _key(
    request_id: RequestIdQuery = None, idempotency_key: IdempotencyKeyHeader = None
) -> str | None:
    return parse_key(request_id, idempotency_key)


async def get_idempotency(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    key: Annotated[str | None, Depends(_key)],
) -> Idempotency:
    return Idempotency(request, session, principal.subject, key)


IdempotencyDep = Annotated[Idempotency, Depends(get_idempotency)]
