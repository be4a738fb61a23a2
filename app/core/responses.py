"""JSON responses rendered with orjson, and the etag/time formatting every resource uses."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import JSONResponse, Response


class Json(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def make_etag(*parts: object) -> str:
    """An opaque etag derived from whatever versions make up a representation."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def strip_etag(value: str | None) -> str | None:
    """Accept `abc`, `"abc"` and `W/"abc"` alike."""
    if value is None:
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


def resource_response(body: dict[str, Any], status_code: int = 200) -> Response:
    headers = {"ETag": f'"{body["etag"]}"'} if "etag" in body else {}
    return Json(body, status_code=status_code, headers=headers)
