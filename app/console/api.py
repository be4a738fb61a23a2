"""The console's only way to data: the public /v1 API, called in-process as one ASGI call of the
same app with the signed-in user's bearer token, so permissions, audit, etags and idempotency
are the API's own. In-process beats loopback HTTP by the figure in docs/console.md; setting
KPLANE_CONSOLE_API_URL (e.g. http://127.0.0.1:8080) makes the console call that API over HTTP
instead, which is how the benchmark measures the difference, and how a console process of its
own would reach a remote API."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
from fastapi import Request

HOST = b"kplane.console"


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


@dataclass(frozen=True)
class RawReply:
    status: int
    content_type: str
    etag: str
    content: bytes


class InProcess:
    """A /v1 call as one ASGI call of the same app: a minimal scope, one receive that hands
    over the body, a send that collects the answer. It does what httpx.ASGITransport did for
    the console without building and parsing an httpx Request and Response around it (that was
    most of the page's cost beyond its /v1 call: docs/console.md, Benchmark)."""

    def __init__(self, app: Any) -> None:
        self._app = app

    async def request(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> RawReply:
        raw_headers = [(b"host", HOST)]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        if body:
            raw_headers.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": raw_headers,
            "client": ("127.0.0.1", 0),
            "server": ("kplane.console", 80),
        }
        done = asyncio.Event()
        sent = False
        status = 500
        answer_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()  # as a client that stays connected until the answer is complete
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, answer_headers
            if message["type"] == "http.response.start":
                status = int(message["status"])
                answer_headers = list(message.get("headers") or [])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        # Starlette's error middleware re-raises after it sent its 500: that answer (or, when
        # nothing was sent, the 500 set above) is what the console shows, as over HTTP.
        with contextlib.suppress(Exception):
            await self._app(scope, receive, send)
        done.set()
        found = {k.lower(): v for k, v in answer_headers}
        return RawReply(
            status,
            found.get(b"content-type", b"").decode("latin-1"),
            found.get(b"etag", b"").decode("latin-1"),
            b"".join(chunks),
        )


class Remote:
    """A /v1 call over HTTP to another API process (KPLANE_CONSOLE_API_URL)."""

    def __init__(self, base_url: str) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=30)

    async def request(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> RawReply:
        url = f"{path}?{query}" if query else path
        response = await self._http.request(method, url, content=body or None, headers=headers)
        return RawReply(
            response.status_code,
            response.headers.get("content-type", ""),
            response.headers.get("etag", ""),
            response.content,
        )


def _transport(request: Request) -> InProcess | Remote:
    transport: InProcess | Remote | None = getattr(request.app.state, "console_api", None)
    if transport is None:
        remote = os.environ.get("KPLANE_CONSOLE_API_URL", "")
        transport = Remote(remote) if remote else InProcess(request.app)
        request.app.state.console_api = transport
    return transport


class Api:
    """The /v1 API as the signed-in user."""

    def __init__(self, request: Request, token: str) -> None:
        self._transport = _transport(request)
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
        sent = {**self._headers, **(headers or {})}
        content = b""
        if json is not None:
            content = orjson.dumps(json)
            sent["Content-Type"] = "application/json"
        reply = await self._transport.request(
            method,
            "/v1/" + path.lstrip("/"),
            urlencode({k: v for k, v in (params or {}).items() if v}),
            sent,
            content,
        )
        body: dict[str, Any] = {}
        if reply.content and reply.content_type.startswith("application/json"):
            parsed = orjson.loads(reply.content)
            body = parsed if isinstance(parsed, dict) else {}
        return ApiReply(reply.status, body, reply.etag.strip('"'))

    async def ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The body of a successful call; an ApiFailure otherwise."""
        reply = await self.call(method, path, **kwargs)
        if not reply.ok:
            raise ApiFailure.of(reply)
        return reply.body

    async def get(self, path: str, **params: str) -> dict[str, Any]:
        return await self.ok("GET", path, params=params)
