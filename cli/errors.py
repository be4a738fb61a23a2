"""The API's error body as the CLI reads it (`ApiError`), apart from the HTTP client so that
printing an error, or a command that never calls the API, does not import httpx."""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

Body = dict[str, Any]


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


@dataclass
class FieldViolation:
    field: str
    description: str


@dataclass
class ApiError(Exception):
    """A refused or failed call, as the API's error body describes it."""

    code: int  # HTTP status; 0 when the API could not be reached
    status: str  # e.g. NOT_FOUND
    message: str
    reason: str = ""  # the ErrorInfo reason, e.g. CLUSTER_NOT_FOUND
    violations: list[FieldViolation] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.code} {self.status}: {self.message}"

    @classmethod
    def from_body(cls, code: int, body: object, fallback: str) -> ApiError:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(code, _phrase(code).upper() or "ERROR", fallback)
        reason = ""
        violations: list[FieldViolation] = []
        for detail in error.get("details") or []:
            if not isinstance(detail, dict):
                continue
            if detail.get("@type") == "ErrorInfo":
                reason = str(detail.get("reason") or "")
            for v in detail.get("field_violations") or []:
                violations.append(FieldViolation(str(v.get("field")), str(v.get("description"))))
        return cls(
            code,
            str(error.get("status") or "ERROR"),
            str(error.get("message") or fallback),
            reason,
            violations,
        )
