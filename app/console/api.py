"""The console's only way to data: the public /v1 API, called in-process through an ASGI
transport with the signed-in user's bearer token, so permissions, audit, etags and idempotency
are the API's own. In-process beats loopback HTTP by the figure in docs/console.md; setting
KPLANE_CONSOLE_API_URL (e.g. http://127.0.0.1:8080) makes the console call that API over HTTP
instead, which is how the benchmark measures the difference, and how a console process of its
own would reach a remote API."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from fastapi import Request

BASE_URL = "http://kplane.console"


@dataclass(frozen=True)
class ApiReply:
    """One /v1 answer: status, JSON body (empty for 304) and the ETag header."""

    status: int
    body: dict[str, Any]
    etag: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class ApiFailure(Exception):
    """A /v1 error in AIP-193 shape: what the console shows, with violations by field path."""

    status: int
    code: str
    message: str
    violations: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def of(reply: ApiReply) -> ApiFailure:
        error = reply.body.get("error") if isinstance(reply.body.get("error"), dict) else {}
        assert isinstance(error, dict)
        violations: dict[str, str] = {}
        for detail in error.get("details") or []:
            if isinstance(detail, dict) and detail.get("@type") == "BadRequest":
                for v in detail.get("field_violations") or []:
                    violations[str(v.get("field", ""))] = str(v.get("description", ""))
        return ApiFailure(
            reply.status,
            str(error.get("status", "UNKNOWN")),
            str(error.get("message", f"HTTP {reply.status}")),
            violations,
        )


def _client(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient | None = getattr(request.app.state, "console_http", None)
    if client is None:
        remote = os.environ.get("KPLANE_CONSOLE_API_URL", "")
        if remote:
            client = httpx.AsyncClient(base_url=remote, timeout=30)
        else:
            # An API failure arrives as its 5xx answer (an error page), not as an exception.
            transport = httpx.ASGITransport(app=request.app, raise_app_exceptions=False)
            client = httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=30)
        request.app.state.console_http = client
    return client


class Api:
    """The /v1 API as the signed-in user."""

    def __init__(self, request: Request, token: str) -> None:
        self._http = _client(request)
        self._headers = {"Authorization": f"Bearer {token}"}

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiReply:
        response = await self._http.request(
            method,
            "/v1/" + path.lstrip("/"),
            params={k: v for k, v in (params or {}).items() if v},
            json=json,
            headers={**self._headers, **(headers or {})},
        )
        body: dict[str, Any] = {}
        if response.content and response.headers.get("content-type", "").startswith(
            "application/json"
        ):
            parsed = orjson.loads(response.content)
            body = parsed if isinstance(parsed, dict) else {}
        return ApiReply(response.status_code, body, response.headers.get("etag", "").strip('"'))

    async def ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The body of a successful call; an ApiFailure otherwise."""
        reply = await self.call(method, path, **kwargs)
        if not reply.ok:
            raise ApiFailure.of(reply)
        return reply.body

    async def get(self, path: str, **params: str) -> dict[str, Any]:
        return await self.ok("GET", path, params=params)
