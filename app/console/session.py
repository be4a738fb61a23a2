"""The console's session: the user's API token, the role the API grants it, and a CSRF token,
sealed (encrypted and authenticated, with an expiry) into an HttpOnly SameSite=Strict cookie.

The token never reaches the page: the browser only holds the sealed cookie, which JavaScript
cannot read. The same sealing carries a one-time secret (a generated password or token secret)
across the redirect after the call that returned it, so a reload no longer shows it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Literal

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request
from starlette.responses import Response

from app.core.settings import get_settings

SESSION_COOKIE = "kplane_console"
SECRET_COOKIE = "kplane_console_secret"
COOKIE_PATH = "/console"
SESSION_SECONDS = 8 * 3600
SECRET_SECONDS = 120
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"

Role = Literal["viewer", "editor", "owner", "admin"]
RANK: dict[Role, int] = {"viewer": 1, "editor": 2, "owner": 3, "admin": 4}


@dataclass(frozen=True)
class Session:
    """Who is signed in. `project` is the token's project, None for the admin."""

    token: str
    role: Role
    project: str | None
    csrf: str

    @property
    def can_edit(self) -> bool:
        return RANK[self.role] >= RANK["editor"]

    @property
    def is_owner(self) -> bool:
        return RANK[self.role] >= RANK["owner"]


@dataclass(frozen=True)
class OneTimeSecret:
    """A secret the API returned once, shown on the page at `path` after the redirect."""

    path: str
    label: str
    value: str


@lru_cache(maxsize=1)
def _fernet_for(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"kplane-console-session:" + secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def _fernet() -> Fernet:
    return _fernet_for(get_settings().secret_key)


# sealed cookie -> (its session, when it expires): a page view need not decrypt it again.
_opened: dict[str, tuple[Session, float]] = {}


def _seal(payload: dict[str, object]) -> str:
    return _fernet().encrypt(json.dumps(payload).encode()).decode()


def _unseal(value: str, ttl: int) -> dict[str, object] | None:
    try:
        raw = json.loads(_fernet().decrypt(value.encode(), ttl=ttl))
    except (InvalidToken, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


def new_session(token: str, role: Role, project: str | None) -> Session:
    return Session(token=token, role=role, project=project, csrf=secrets.token_urlsafe(24))


def read_session(request: Request) -> Session | None:
    """The session of this request, or None when absent, tampered with or expired."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    opened = _opened.get(cookie)
    if opened is not None and opened[1] > time.time():
        return opened[0]
    raw = _unseal(cookie, SESSION_SECONDS)
    if raw is None:
        return None
    try:
        session = Session(**raw)  # type: ignore[arg-type]
    except TypeError:
        return None
    if session.role not in RANK:
        return None
    if len(_opened) > 10_000:
        _opened.clear()
    _opened[cookie] = (session, _fernet().extract_timestamp(cookie) + SESSION_SECONDS)
    return session


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def write_session(response: Response, request: Request, session: Session) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        _seal(asdict(session)),
        max_age=SESSION_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    response.delete_cookie(SECRET_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def csrf_ok(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf.encode(), str(sent).encode())


def stash_secret(response: Response, request: Request, secret: OneTimeSecret) -> None:
    response.set_cookie(
        SECRET_COOKIE,
        _seal(asdict(secret)),
        max_age=SECRET_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def take_secret(request: Request) -> OneTimeSecret | None:
    """The stashed secret when it belongs to this page (the page then clears its cookie)."""
    cookie = request.cookies.get(SECRET_COOKIE)
    raw = _unseal(cookie, SECRET_SECONDS) if cookie else None
    if raw is None or raw.get("path") != request.url.path:
        return None
    return OneTimeSecret(str(raw["path"]), str(raw["label"]), str(raw["value"]))
