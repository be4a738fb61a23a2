"""What every reconciled resource shares: the common output fields derived from desired state
plus the workers' observed status, label rules, update masks and etag preconditions."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, literal

from app.core.errors import ApiError, FieldViolation, aborted, invalid, invalid_field
from app.models import ResourceStatus
from app.models.base import DesiredState

LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
MAX_LABELS = 64


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


def label_violations(labels: Mapping[str, Any]) -> list[FieldViolation]:
    if len(labels) > MAX_LABELS:
        return [FieldViolation("labels", f"at most {MAX_LABELS} labels")]
    out = []
    for key, value in labels.items():
        if not LABEL_KEY.match(key):
            out.append(FieldViolation(f"labels.{key}", "keys are 1-63 of [a-z0-9_-], from a-z"))
        elif not isinstance(value, str) or not LABEL_VALUE.match(value):
            out.append(FieldViolation(f"labels.{key}", "values are 0-63 of [a-z0-9_-]"))
    return out


def etag_of(row: DesiredState, status: ResourceStatus | None) -> str:
    return make_etag(row.uid, row.version, status.version if status is not None else 0)


def observed_fields(row: DesiredState, status: ResourceStatus | None) -> dict[str, Any]:
    """generation, observed_generation, reconciling, state and conditions of a resource."""
    observed = status.observed_generation if status is not None else 0
    if row.delete_time is not None:
        state = "DELETING"
    elif status is not None and status.state == "FAILED" and observed == row.generation:
        state = "FAILED"
    elif observed == 0:
        state = "CREATING"
    elif observed < row.generation:
        state = "UPDATING"
    else:
        state = status.state if status is not None else "CREATING"
    conditions = list(status.conditions) if status is not None else []
    if not any(c.get("type") == "Ready" for c in conditions):
        conditions.append(
            {
                "type": "Ready",
                "status": "Unknown",
                "reason": "Pending",
                "message": "waiting for a worker to reconcile this resource",
                "last_transition_time": rfc3339(row.create_time),
                "observed_generation": observed,
            }
        )
    return {
        "generation": row.generation,
        "observed_generation": observed,
        "reconciling": state in ("CREATING", "UPDATING", "DELETING") or observed != row.generation,
        "state": state,
        "conditions": conditions,
    }


def state_expression(model: type[DesiredState]) -> ColumnElement[str]:
    """The same derived state as observed_fields, in SQL, for `filter=state = X`."""
    observed = ResourceStatus.observed_generation
    return case(
        (model.delete_time.is_not(None), literal("DELETING")),
        (ResourceStatus.resource_uid.is_(None), literal("CREATING")),
        ((ResourceStatus.state == "FAILED") & (observed == model.generation), literal("FAILED")),
        (observed == 0, literal("CREATING")),
        (observed < model.generation, literal("UPDATING")),
        else_=ResourceStatus.state,
    )


def common_fields(row: DesiredState, name: str, status: ResourceStatus | None) -> dict[str, Any]:
    return {
        "name": name,
        "uid": str(row.uid),
        "create_time": rfc3339(row.create_time),
        "update_time": rfc3339(row.update_time),
        "labels": row.labels,
        "etag": etag_of(row, status),
        **observed_fields(row, status),
    }


def parse_update_mask(
    update_mask: str | None, present: Iterable[str], writable: Iterable[str]
) -> set[str]:
    """The fields a PATCH changes: the mask's, or every field present in the body; `*` = all."""
    writable_set = set(writable)
    if update_mask is None or update_mask.strip() == "":
        return set(present) & writable_set
    if update_mask.strip() == "*":
        return writable_set
    fields = {f.strip() for f in update_mask.split(",") if f.strip()}
    # A mask may name a sub-field of a map (labels.env); the whole map is replaced then.
    top = {f.split(".", 1)[0] for f in fields}
    unknown = sorted(top - writable_set)
    if unknown:
        raise invalid_field("update_mask", f"unknown or read-only field(s): {', '.join(unknown)}")
    return top


def check_etag(
    current: str, body_etag: str | None, query_etag: str | None, if_match: str | None
) -> None:
    """`etag` in body or query: mismatch 409 ABORTED; `If-Match`: mismatch 412."""
    if if_match is not None and if_match.strip() != "*":
        candidates = {strip_etag(v) for v in if_match.split(",")}
        if current not in candidates:
            raise ApiError(
                412,
                "ETAG_MISMATCH",
                "If-Match does not match the current etag",
                status="FAILED_PRECONDITION",
            )
    for given in (body_etag, query_etag):
        if given is not None and strip_etag(given) != current:
            raise aborted(
                "ETAG_MISMATCH", "the resource changed since it was read: the etag does not match"
            )


def immutable_violation(field: str, old: Any, new: Any) -> list[FieldViolation]:
    return [] if old == new else [FieldViolation(field, "is immutable")]


def raise_if(violations: list[FieldViolation]) -> None:
    if violations:
        raise invalid(violations)
