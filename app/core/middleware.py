"""The outermost layer of every request, as plain ASGI for speed: a request id, the 1 MiB body
limit (413 before the body is parsed), one structured access-log line and the request metrics
(app.core.metrics) per request."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import metrics
from app.core.errors import ApiError

log = logging.getLogger("kplane.access")


class _TooLarge(Exception):
    pass


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:100] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = {"code": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await self._too_large(scope, receive, send_with_id)
        else:
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body_bytes:
                        raise _TooLarge
                return message

            try:
                await self.app(scope, limited_receive, send_with_id)
            except _TooLarge:
                if status["code"] == 0:
                    await self._too_large(scope, receive, send_with_id)
            except Exception:
                # Answered by the server-error handler outside this layer: a 500, except the
                # few kinds it maps to 409/503 (counted as 500 here, which it cannot see).
                metrics.observe_request(scope, status["code"] or 500, time.perf_counter() - started)
                raise
        duration = time.perf_counter() - started
        metrics.observe_request(scope, status["code"], duration)
        log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status["code"],
                "duration_ms": round(duration * 1000, 2),
            },
        )

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = ApiError(
            413, "PAYLOAD_TOO_LARGE", f"request body exceeds {self.max_body_bytes} bytes"
        )
        await error.response()(scope, receive, send)


def access_fields(record: logging.LogRecord) -> dict[str, Any]:
    keys = ("request_id", "method", "path", "status", "duration_ms", "cluster_id", "step")
    return {k: getattr(record, k) for k in keys if hasattr(record, k)}
