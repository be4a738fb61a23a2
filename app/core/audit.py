"""The audit trail: every mutation (in the mutation's own transaction) and every denial or failed
mutation (in a transaction of its own, since the request's was rolled back).

Records hold who, what, when, the request id and the result — never request bodies, so no
password or token secret can reach them.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import Request

from app.core.pools import connection
from app.core.unit import Unit, land
from app.models import AuditRecord
from app.models.base import utcnow

log = logging.getLogger("kplane.audit")
MUTATING = frozenset({"POST", "PATCH", "DELETE", "PUT"})
_PROJECT_IN_PATH = re.compile(r"^/v1/projects/([^/:]+)")
_TARGET_LENGTH = 600  # the width of audit_logs.target


def _project_of(request: Request) -> str:
    project = getattr(request.state, "audit_project", None)
    if project:
        return str(project)
    match = _PROJECT_IN_PATH.match(request.scope["path"])
    return match.group(1)[:63] if match else ""


def _action_of(request: Request) -> str:
    route = request.scope.get("route")
    operation_id = getattr(route, "operation_id", None)
    return str(operation_id or f"{request.method} {request.scope['path']}")[:100]


def _target_of(request: Request) -> str:
    target = getattr(request.state, "audit_target", None)
    return str(target or request.scope["path"].removeprefix("/v1/"))[:_TARGET_LENGTH]


def _principal_of(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    return principal.subject if principal is not None else "anonymous"


def request_id_of(request: Request) -> str:
    """The caller's request id (query `request_id`, `Idempotency-Key`) or the generated one."""
    return str(
        request.query_params.get("request_id")
        or request.headers.get("idempotency-key")
        or getattr(request.state, "request_id", "")
    )[:100]


def set_target(request: Request, target: str, project_id: str | None = None) -> None:
    request.state.audit_target = target
    if project_id is not None:
        request.state.audit_project = project_id


def _fields(request: Request, code: int, result: str, message: str) -> dict[str, Any]:
    return {
        "project_id": _project_of(request),
        "principal": _principal_of(request),
        "action": _action_of(request),
        "target": _target_of(request),
        "request_id": request_id_of(request),
        "result_code": code,
        "result": result,
        "message": message[:2000],
        "time": utcnow(),
    }


def set_targets(request: Request, targets: list[str]) -> None:
    """A mutation of several resources (a batch): one audit record per resource."""
    request.state.audit_targets = targets


def record_success(unit: Unit, request: Request, code: int = 200) -> None:
    """Add the audit row(s) of a successful mutation to the request's transaction."""
    if request.method not in MUTATING:
        return
    fields = _fields(request, code, "OK", getattr(request.state, "audit_note", ""))
    targets: list[str] | None = getattr(request.state, "audit_targets", None)
    if targets is None:
        unit.add(AuditRecord, **fields)
        return
    # A batch: the same fields, computed once; only the target differs from record to record.
    for target in targets:
        unit.add(AuditRecord, **{**fields, "target": target[:_TARGET_LENGTH]})


async def record_failure(request: Request, code: int, status: str, message: str) -> None:
    """Audit a denial (any method) or a failed mutation, in a transaction of its own."""
    if request.method not in MUTATING and code not in (401, 403):
        return
    if not _project_of(request):
        return
    try:
        async with connection(request) as conn:
            unit = Unit(conn)
            unit.add(AuditRecord, **_fields(request, code, status, message))
            await land(unit)
    except Exception:
        # An audit write must never turn a 4xx into a 500; the access log still has the line.
        log.warning("could not write the audit record of a failed request", exc_info=True)
