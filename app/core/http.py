"""HTTP helpers every domain's endpoints share: common parameters, conditional GETs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Query
from starlette.responses import Response

from app.core.pagination import ListParams, list_params
from app.core.resource import strip_etag
from app.core.responses import resource_response

IfMatch = Annotated[
    str | None, Header(alias="If-Match", description="Mismatch with the current etag: 412.")
]
IfNoneMatch = Annotated[
    str | None, Header(alias="If-None-Match", description="Match with the current etag: 304.")
]
EtagQuery = Annotated[
    str | None, Query(alias="etag", description="Mismatch with the current etag: 409 ABORTED.")
]
UpdateMask = Annotated[
    str | None,
    Query(
        max_length=2000,
        description="Comma-separated fields; omitted = fields in the body; "
        "`*` = every writable field.",
    ),
]
Params = Annotated[ListParams, Depends(list_params)]


def not_modified(etag: str, if_none_match: str | None) -> bool:
    if if_none_match is None:
        return False
    return if_none_match.strip() == "*" or etag in {strip_etag(v) for v in if_none_match.split(",")}


def cached_or(body: dict[str, Any], if_none_match: str | None) -> Response:
    """The resource, or 304 when the client's If-None-Match names its current etag."""
    etag = str(body["etag"])
    if not_modified(etag, if_none_match):
        return Response(status_code=304, headers={"ETag": f'"{etag}"'})
    return resource_response(body)
