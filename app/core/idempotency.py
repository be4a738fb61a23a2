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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import Header, Query, Request
from starlette.responses import Response

from app.core.errors import ApiError, invalid_field
from app.core.pools import Connection
from app.core.responses import resource_response
from app.core.secrets import decrypt_bytes, encrypt_bytes
from app.core.settings import get_settings
from app.core.unit import Unit
from app.models import IdempotencyRecord
from app.models.base import utcnow


@dataclass
class Result:
    """What a mutation produced: a JSON body and its status code. `secret`: the body carries a
    secret (a token, a password), so a remembered copy of it is stored encrypted."""

    body: dict[str, Any]
    status_code: int = 200
    secret: bool = False

    def response(self) -> Response:
        return resource_response(self.body, self.status_code)


# The claim the unit of work's statement makes (app.core.unit.land): take the key's
# transaction-scoped advisory lock without waiting, then read what the key stored, in a statement
# of its own — a fresh snapshot, so a first request that committed a moment ago is replayed, not
# repeated. The migrations create it; tests/integration/core/test_idempotency_function.py checks
# that the database's function is this one.
CLAIM_FUNCTION = """
CREATE FUNCTION kplane_idempotency_claim(lock_id bigint, p_principal text, p_key text)
RETURNS TABLE (
    locked boolean,
    request_hash varchar,
    status_code integer,
    body bytea, body_encrypted boolean,
    create_time timestamptz
)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(lock_id) THEN
        RETURN QUERY SELECT false, NULL::varchar, NULL::integer, NULL::bytea, NULL::boolean,
            NULL::timestamptz;
        RETURN;
    END IF;
    RETURN QUERY SELECT true, k.request_hash, k.status_code, k.body, k.body_encrypted, k.create_time
        FROM idempotency_keys AS k WHERE k.principal = p_principal AND k.key = p_key;
    IF NOT FOUND THEN
        RETURN QUERY SELECT true, NULL::varchar, NULL::integer, NULL::bytea, NULL::boolean,
            NULL::timestamptz;
    END IF;
END
$$
"""
_READ = (
    "SELECT request_hash, status_code, body, body_encrypted, create_time FROM idempotency_keys "
    "WHERE principal = $1 AND key = $2"
)
_DELETE = "DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2"


def lock_id(principal: str, key: str) -> int:
    """The advisory lock id of a (principal, key)."""
    digest = hashlib.sha256(f"{principal}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def request_hash_of(request: Request) -> str:
    """What makes two requests "the same" for a key: method, path, query (but the key) and body."""
    body = await request.body()
    query = sorted((k, v) for k, v in request.query_params.multi_items() if k != "request_id")
    material = orjson.dumps([request.method, request.scope["path"], query]) + body
    return hashlib.sha256(material).hexdigest()


def in_flight() -> ApiError:
    return ApiError(
        409,
        "REQUEST_IN_FLIGHT",
        "a request with this idempotency key is still being processed",
        status="ABORTED",
        headers={"Retry-After": "1"},
    )


def expired(stored: Mapping[str, Any]) -> bool:
    """Whether a key's record (a row of its columns) is past the retention window."""
    ttl = timedelta(hours=get_settings().idempotency_ttl_hours)
    return bool(stored["create_time"] < utcnow() - ttl)


def replay(request: Request, stored: Mapping[str, Any], request_hash: str) -> Response:
    """The stored response of the key, for a request that must be the same as the first."""
    if stored["request_hash"] != request_hash:
        raise ApiError(
            422,
            "IDEMPOTENCY_KEY_REUSED",
            "this idempotency key was used with a different request",
            status="INVALID_ARGUMENT",
        )
    request.state.audit_note = "replayed"
    body = decrypt_bytes(stored["body"]) if stored["body_encrypted"] else stored["body"]
    return Result(orjson.loads(body), stored["status_code"]).response()


async def read_stored(connection: Connection, principal: str, key: str) -> Any:
    """The key's unexpired record, read without its lock (None if there is none)."""
    stored = await connection.fetchrow(_READ, principal, key)
    return None if stored is None or expired(stored) else stored


async def forget(connection: Connection, principal: str, key: str) -> None:
    """Delete the key's record (one past the retention window, not yet purged)."""
    await connection.execute(_DELETE, principal, key)


def remember(unit: Unit, principal: str, key: str, request_hash: str, result: Result) -> None:
    """Add the key's record of `result` to the mutation's new rows."""
    body = orjson.dumps(result.body)
    unit.add(
        IdempotencyRecord,
        principal=principal,
        key=key,
        request_hash=request_hash,
        status_code=result.status_code,
        body=encrypt_bytes(body) if result.secret else body,
        body_encrypted=result.secret,
        create_time=utcnow(),
    )


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
