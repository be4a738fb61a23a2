"""AIP-193 errors: one exception type that carries its HTTP status and canonical status, and the
constructors of the common ones. The handlers that render every failure are app.core.handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from app.core.responses import Json

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
