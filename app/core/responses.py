"""JSON responses rendered with orjson, and the etag/time formatting every resource uses."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse, Response


class Json(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def resource_response(body: dict[str, Any], status_code: int = 200) -> Response:
    headers = {"ETag": f'"{body["etag"]}"'} if "etag" in body else {}
    return Json(body, status_code=status_code, headers=headers)
