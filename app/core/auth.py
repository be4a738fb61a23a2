"""Who is calling, and may they? Bearer tokens: the admin token from configuration, or project
tokens stored as SHA-256 hashes. Authorization is decided from the token alone, before any
lookup of the target, so a caller without access gets 403 whether or not the target exists."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated

from fastapi import Depends, Request

from app.core.errors import ApiError
from app.core.pools import connection
from app.core.settings import get_settings

TOKEN_PREFIX = "kpt_"


class Role(IntEnum):
    VIEWER = 1
    EDITOR = 2
    OWNER = 3


ROLE_NAMES = {"viewer": Role.VIEWER, "editor": Role.EDITOR, "owner": Role.OWNER}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. `project_id` is None for the admin."""

    subject: str
    role: Role
    project_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.project_id is None


ADMIN = Principal(subject="admin", role=Role.OWNER, project_id=None)


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# hash -> (principal, expiry); a short TTL bounds how long a deleted token keeps working.
_cache: dict[str, tuple[Principal, float]] = {}


def forget_cached_tokens() -> None:
    _cache.clear()


class _Bucket:
    """A token bucket: `rate` requests per second, bursts up to `burst`."""

    __slots__ = ("stamp", "tokens")

    def __init__(self, burst: float) -> None:
        self.tokens = burst
        self.stamp = time.monotonic()


_buckets: dict[str, _Bucket] = {}


def _rate_limit(principal: Principal) -> None:
    """429 with Retry-After when a caller exceeds its share; 0 disables the limiter."""
    settings = get_settings()
    rate = settings.rate_limit_per_second
    if rate <= 0:
        return
    burst = float(settings.rate_limit_burst or rate)
    bucket = _buckets.get(principal.subject)
    if bucket is None:
        if len(_buckets) > 100_000:
            _buckets.clear()
        bucket = _buckets[principal.subject] = _Bucket(burst)
    now = time.monotonic()
    bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * rate)
    bucket.stamp = now
    if bucket.tokens < 1:
        wait = max(1, int((1 - bucket.tokens) / rate + 0.999))
        raise ApiError(
            429,
            "RATE_LIMITED",
            f"too many requests; retry in {wait}s",
            headers={"Retry-After": str(wait)},
        )
    bucket.tokens -= 1


_TOKEN_BY_HASH = "SELECT project_id, token_id, role FROM tokens WHERE secret_hash = $1"


def _unauthenticated(message: str) -> ApiError:
    return ApiError(401, "UNAUTHENTICATED", message, headers={"WWW-Authenticate": "Bearer"})


async def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise _unauthenticated("missing bearer token")
    secret = secret.strip()
    settings = get_settings()
    if hmac.compare_digest(secret.encode(), settings.admin_token.encode()):
        request.state.principal = ADMIN
        _rate_limit(ADMIN)
        return ADMIN
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise _unauthenticated("invalid token")
    digest = hash_secret(secret)
    now = time.monotonic()
    cached = _cache.get(digest)
    if cached and cached[1] > now:
        request.state.principal = cached[0]
        _rate_limit(cached[0])
        return cached[0]
    async with connection(request) as conn:
        row = await conn.fetchrow(_TOKEN_BY_HASH, digest)
    if row is None:
        raise _unauthenticated("invalid token")
    principal = Principal(
        subject=f"projects/{row['project_id']}/tokens/{row['token_id']}",
        role=ROLE_NAMES[row["role"]],
        project_id=row["project_id"],
    )
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[digest] = (principal, now + settings.token_cache_seconds)
    request.state.principal = principal
    _rate_limit(principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def authorize(principal: Principal, project_id: str, role: Role) -> None:
    """403 unless `principal` holds at least `role` in `project_id` (the admin holds all)."""
    if principal.is_admin:
        return
    if principal.project_id != project_id:
        raise ApiError(403, "PERMISSION_DENIED", f"permission denied on projects/{project_id}")
    if principal.role < role:
        raise ApiError(
            403,
            "PERMISSION_DENIED",
            f"this operation needs the {role.name.lower()} role on projects/{project_id}",
        )


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise ApiError(403, "PERMISSION_DENIED", "only the admin may do this")
