"""Reads of desired state for the reconcilers, and the few desired-state writes a worker owns:
removing the rows of resources whose deletion it has finished (the API only marks them).

Synchronous SQLAlchemy on the same models as the API; every read is one statement per kind.
What "unconverged" means is defined here once (`unconverged`, `due`), as SQL over a resource
outer-joined with its status: the reconcilers' reads and the sweeper use it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ARRAY, ColumnElement, Uuid, and_, any_, cast, delete, not_, or_, select
from sqlalchemy.orm import Session

from app.models import AuditRecord, Cluster, ResourceStatus
from app.models.base import DesiredState, utcnow

Row = TypeVar("Row", bound=DesiredState)
WORKER_PRINCIPAL = "system:kplane-worker"


def cluster(
    session: Session, cluster_uid: uuid.UUID
) -> tuple[Cluster, ResourceStatus | None] | None:
    found = session.execute(
        select(Cluster, ResourceStatus)
        .outerjoin(ResourceStatus, ResourceStatus.resource_uid == Cluster.uid)
        .where(Cluster.uid == cluster_uid)
    ).first()
    return (found[0], found[1]) if found is not None else None


def failed_for_good(model: type[DesiredState]) -> ColumnElement[bool]:
    """FAILED at the current generation and not being deleted: Kafka refused this spec, so
    nothing is retried until the spec changes (a new generation). Over an outer join with the
    resource's ResourceStatus."""
    s = ResourceStatus
    return and_(
        # False, not NULL, without a status row: its negation must hold then.
        s.resource_uid.is_not(None),
        s.state == "FAILED",
        s.observed_generation == model.generation,
        model.delete_time.is_(None),
    )


def unconverged(model: type[DesiredState]) -> ColumnElement[bool]:
    """The one definition of "unconverged": no status yet, being deleted, a generation its
    status has not observed, or not ACTIVE — except FAILED for good. Over an outer join with
    the resource's ResourceStatus."""
    s = ResourceStatus
    return or_(
        s.resource_uid.is_(None),
        model.delete_time.is_not(None),
        and_(
            not_(failed_for_good(model)),
            or_(s.observed_generation != model.generation, s.state != "ACTIVE"),
        ),
    )


def due(model: type[DesiredState], checked_before: datetime) -> ColumnElement[bool]:
    """Unconverged, or converged and not checked since `checked_before` (drift is looked for
    once a recheck interval)."""
    s = ResourceStatus
    stale = or_(s.last_checked_time.is_(None), s.last_checked_time < checked_before)
    return or_(unconverged(model), and_(not_(failed_for_good(model)), stale))


def pending(
    session: Session,
    model: type[Row],
    cluster_uid: uuid.UUID,
    checked_before: datetime | None = None,
) -> list[tuple[Row, ResourceStatus | None]]:
    """The rows of `model` in the cluster a pass acts on, with their status (one outer join):
    every one not FAILED for good — or, given `checked_before`, only those `due`."""
    s = ResourceStatus
    which = not_(failed_for_good(model)) if checked_before is None else due(model, checked_before)
    rows = session.execute(
        select(model, s)
        .outerjoin(s, s.resource_uid == model.uid)
        .where(model.cluster_uid == cluster_uid, which)  # type: ignore[attr-defined]
    ).all()
    return [(r[0], r[1]) for r in rows]


def arrived(
    session: Session,
    model: type[DesiredState],
    cluster_uid: uuid.UUID,
    handled: Collection[uuid.UUID],
) -> bool:
    """Whether a row other than `handled` is unconverged (created, changed or deleted since
    the pass that handled those read the table)."""
    s = ResourceStatus
    query = (
        select(model.uid)
        .outerjoin(s, s.resource_uid == model.uid)
        .where(
            model.cluster_uid == cluster_uid,  # type: ignore[attr-defined]
            unconverged(model),
            not_(model.uid == any_(cast(list(handled), ARRAY(Uuid)))),
        )
        .limit(1)
    )
    return session.scalars(query).first() is not None


def remove(session: Session, model: type[Row], uids: Sequence[uuid.UUID]) -> None:
    """Drop rows whose deletion the worker completed (only rows the API marked for it)."""
    if uids:
        session.execute(delete(model).where(model.uid.in_(uids), model.delete_time.is_not(None)))


def audit(
    session: Session, project_id: str, action: str, target: str, message: str, reconcile_id: str
) -> None:
    """An audit record of something the control plane did on its own (e.g. reverting drift)."""
    session.add(
        AuditRecord(
            project_id=project_id,
            time=utcnow(),
            principal=WORKER_PRINCIPAL,
            action=action,
            target=target[:600],
            request_id=reconcile_id,
            result_code=200,
            result="OK",
            message=message[:2000],
        )
    )
