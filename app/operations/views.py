"""An Operation's body (AIP-151), rendered from its row. Pure."""

from __future__ import annotations

from typing import Any

from app.core.resource import make_etag, rfc3339
from app.models import Operation


def body(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": f"projects/{op.project_id}/operations/{op.operation_id}",
        "done": op.done,
        "metadata": {
            "verb": op.verb,
            "target": op.target,
            "create_time": rfc3339(op.create_time),
            "end_time": rfc3339(op.end_time),
            "progress_percent": op.progress_percent,
            "steps": op.steps,
            "status_message": op.status_message,
            "cancel_requested": op.cancel_requested,
        },
        "etag": make_etag(op.uid, op.version),
    }
    if op.error is not None:
        out["error"] = op.error
    elif op.done and op.response is not None:
        out["response"] = op.response
    return out
