"""Reads of desired state for the reconcilers, and the few desired-state writes a worker owns:
removing the rows of resources whose deletion it has finished (the API only marks them).

Synchronous SQLAlchemy on the same models as the API; every read is one statement per kind.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ARRAY, Uuid, any_, cast, delete, exists, not_, or_, select
from sqlalchemy.orm import Session

from app.models import Acl, AuditRecord, Cluster, ResourceStatus, Topic, User
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


def children(
    session: Session, model: type[Row], cluster_uid: uuid.UUID
) -> list[tuple[Row, ResourceStatus | None]]:
    """Every row of `model` in the cluster with its status (one outer join)."""
    rows = session.execute(
        select(model, ResourceStatus)
        .outerjoin(ResourceStatus, ResourceStatus.resource_uid == model.uid)
        .where(model.cluster_uid == cluster_uid)  # type: ignore[attr-defined]
    ).all()
    return [(r[0], r[1]) for r in rows]


def topics(session: Session, cluster_uid: uuid.UUID) -> list[tuple[Topic, ResourceStatus | None]]:
    return children(session, Topic, cluster_uid)


def topics_due(
    session: Session, cluster_uid: uuid.UUID, checked_after: datetime
) -> list[tuple[Topic, ResourceStatus | None]]:
    """The topics a pass looks at: every unconverged one (no status, a newer generation, being
    deleted, not ACTIVE), and converged ones last checked before `checked_after`."""
    s = ResourceStatus
    rows = session.execute(
        select(Topic, s)
        .outerjoin(s, s.resource_uid == Topic.uid)
        .where(
            Topic.cluster_uid == cluster_uid,
            or_(
                s.resource_uid.is_(None),
                Topic.delete_time.is_not(None),
                s.state != "ACTIVE",
                s.observed_generation != Topic.generation,
                s.last_checked_time.is_(None),
                s.last_checked_time < checked_after,
            ),
        )
    ).all()
    return [(r[0], r[1]) for r in rows]


def topics_arrived(
    session: Session, cluster_uid: uuid.UUID, handled: Collection[uuid.UUID]
) -> bool:
    """Whether a topic other than `handled` waits for a pass (created, changed or deleted
    since the pass that handled those read the table)."""
    s = ResourceStatus
    waiting = or_(
        Topic.delete_time.is_not(None),
        ~exists().where(s.resource_uid == Topic.uid),
        exists().where(s.resource_uid == Topic.uid, s.observed_generation < Topic.generation),
    )
    query = (
        select(Topic.uid)
        .where(
            Topic.cluster_uid == cluster_uid,
            waiting,
            not_(Topic.uid == any_(cast(list(handled), ARRAY(Uuid)))),
        )
        .limit(1)
    )
    return session.scalars(query).first() is not None


def acls(session: Session, cluster_uid: uuid.UUID) -> list[tuple[Acl, ResourceStatus | None]]:
    return children(session, Acl, cluster_uid)


def users(session: Session, cluster_uid: uuid.UUID) -> list[tuple[User, ResourceStatus | None]]:
    return children(session, User, cluster_uid)


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
