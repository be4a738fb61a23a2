"""The exception handlers: every failure — ours, FastAPI's validation, Starlette's routing, the
database's — rendered as an AIP-193 error body, and denials and failed mutations audited.

No request gets a 500 for bad input: validation problems become 400 with field violations, and an
unreachable database becomes 503 with Retry-After, never an unhandled exception.
"""

from __future__ import annotations

import logging

import asyncpg
from asyncpg import UniqueViolationError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.core import audit
from app.core.errors import ApiError, FieldViolation, invalid, unavailable

log = logging.getLogger("kplane.errors")


def _location(loc: tuple[int | str, ...]) -> str:
    # FastAPI prefixes the source ("body", "query", "path"); the rest is the field path.
    # List indexes read as in AIP-161: `requests[3].topic.partition_count`.
    sources = ("body", "query", "path", "header")
    path = ""
    for part in loc[1:] if loc and loc[0] in sources else loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or str(loc[0] if loc else "body")


async def _respond(request: Request, error: ApiError) -> Response:
    await audit.record_failure(request, error.code, error.status, error.message)
    return error.response()


async def _validation_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    violations = []
    for err in exc.errors():
        msg = str(err.get("msg", "invalid"))
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            msg = "request body is not valid JSON"
        violations.append(FieldViolation(_location(loc), msg))
    return await _respond(request, invalid(violations))


async def _api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return await _respond(request, exc)


async def _http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    reason = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
    message = str(exc.detail) if exc.detail else reason.lower()
    if exc.status_code == 404:
        message = "no such path"
    return await _respond(
        request, ApiError(exc.status_code, reason, message, headers=dict(exc.headers or {}))
    )


async def _unhandled_handler(request: Request, exc: Exception) -> Response:
    if isinstance(exc, UniqueViolationError):
        # Two concurrent creates of one id: the loser of the race gets what a retry would.
        return await _respond(
            request,
            ApiError(409, "ALREADY_EXISTS", "the resource already exists", status="ALREADY_EXISTS"),
        )
    if is_database_unavailable(exc):
        return unavailable("the database is unavailable; retry shortly").response()
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return ApiError(500, "INTERNAL", "internal error").response()


def is_database_unavailable(exc: BaseException) -> bool:
    """Connection-level database failures, which are retryable and therefore 503, not 500."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(
            seen,
            (
                OSError,
                ConnectionError,
                asyncpg.PostgresConnectionError,
                asyncpg.CannotConnectNowError,
                asyncpg.InterfaceError,
            ),
        ):
            return True
        if isinstance(seen, TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(Exception, _unhandled_handler)
