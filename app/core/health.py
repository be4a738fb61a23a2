"""Liveness, readiness and a plain echo endpoint (the benchmark's baseline)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.core.errors import unavailable
from app.core.pools import connection
from app.core.responses import Json

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="getHealth", include_in_schema=False)
async def healthz() -> Response:
    return Json({"status": "ok"})


@router.get("/readyz", operation_id="getReadiness", include_in_schema=False)
async def readyz(request: Request) -> Response:
    try:
        async with connection(request) as conn:
            await conn.fetchval("SELECT 1")
    except Exception:
        raise unavailable("the database is not reachable") from None
    return Json({"status": "ready"})


@router.get("/echo", operation_id="echo", include_in_schema=False)
async def echo(message: str = "hello") -> Response:
    """No database, no auth: what the framework alone costs, for benchmark ratios."""
    return Json({"message": message})
