"""AIP-193 errors: one exception type that carries its HTTP status, and the handlers that render
every failure — ours, FastAPI's validation, Starlette's routing, the database's — in that shape.

No request gets a 500 for bad input: validation problems become 400 with field violations, and an
unreachable database becomes 503 with Retry-After, never an unhandled exception.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = logging.getLogger("kplane.errors")

STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "ABORTED",
    412: "FAILED_PRECONDITION",
    413: "PAYLOAD_TOO_LARGE",
    415: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass
class FieldViolation:
    field: str
    description: str


@dataclass
class ApiError(Exception):
    """An error a client can branch on: HTTP code, canonical status and a stable reason."""

    code: int
    reason: str
    message: str
    status: str = ""
    violations: list[FieldViolation] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.status:
            self.status = STATUS_BY_CODE.get(self.code, "UNKNOWN")
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        details: list[dict[str, Any]] = [
            {
                "@type": "ErrorInfo",
                "reason": self.reason,
                "domain": "kplane",
                "metadata": self.metadata,
            }
        ]
        if self.violations:
            details.append(
                {
                    "@type": "BadRequest",
                    "field_violations": [
                        {"field": v.field, "description": v.description} for v in self.violations
                    ],
                }
            )
        return {
            "error": {
                "code": self.code,
                "status": self.status,
                "message": self.message,
                "details": details,
            }
        }

    def response(self) -> Response:
        from app.core.responses import Json

        return Json(self.body(), status_code=self.code, headers=self.headers)


def invalid(violations: list[FieldViolation], message: str = "") -> ApiError:
    """400 INVALID_ARGUMENT listing every bad field at once."""
    text = message or "; ".join(f"{v.field}: {v.description}" for v in violations)
    return ApiError(400, "INVALID_ARGUMENT", text or "invalid request", violations=violations)


def invalid_field(field_path: str, description: str) -> ApiError:
    return invalid([FieldViolation(field_path, description)])


def not_found(kind: str, name: str) -> ApiError:
    return ApiError(404, f"{kind.upper()}_NOT_FOUND", f"{kind} {name} not found")


def already_exists(kind: str, name: str) -> ApiError:
    return ApiError(
        409,
        f"{kind.upper()}_ALREADY_EXISTS",
        f"{kind} {name} already exists",
        status="ALREADY_EXISTS",
    )


def aborted(reason: str, message: str) -> ApiError:
    return ApiError(409, reason, message, status="ABORTED")


def failed_precondition(reason: str, message: str, field_path: str = "") -> ApiError:
    """A domain precondition that the request cannot satisfy as it stands (AIP-193: 400)."""
    violations = [FieldViolation(field_path, message)] if field_path else []
    return ApiError(400, reason, message, status="FAILED_PRECONDITION", violations=violations)


def unavailable(message: str) -> ApiError:
    return ApiError(503, "UNAVAILABLE", message, headers={"Retry-After": "1"})


def _location(loc: tuple[int | str, ...]) -> str:
    # FastAPI prefixes the source ("body", "query", "path"); the rest is the field path.
    # List indexes read as in AIP-161: `requests[3].topic.partition_count`.
    sources = ("body", "query", "path", "header")
    path = ""
    for part in loc[1:] if loc and loc[0] in sources else loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or str(loc[0] if loc else "body")


async def _respond(request: Request, error: ApiError) -> Response:
    from app.core import audit  # audit -> db -> models; imported late to keep this module light

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
    from asyncpg import UniqueViolationError
    from sqlalchemy.exc import IntegrityError

    if isinstance(exc, UniqueViolationError) or (
        isinstance(exc, IntegrityError) and "unique" in str(exc.orig).lower()
    ):
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
    import asyncpg
    from sqlalchemy import exc as sa_exc

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
        if isinstance(seen, sa_exc.DBAPIError) and seen.connection_invalidated:
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
