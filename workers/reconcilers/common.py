"""Helpers the topic, ACL and user reconcilers share: finding a ready cluster's brokers and
turning a pass's per-resource results into status rows and finished Operations."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from app.core.secrets import admin_password
from app.models import Cluster, ResourceStatus
from app.models.base import DesiredState
from workers import status
from workers.adapters.kafka_admin import KafkaAdmin
from workers.outcome import Ready
from workers.reconcilers.context import Context
from workers.store import cluster as load_cluster

Row = TypeVar("Row", bound=DesiredState)


def admin_of(ctx: Context, cluster_uid: uuid.UUID) -> tuple[Cluster, KafkaAdmin] | Ready:
    """The cluster and an Admin client of its brokers — or, while there is nothing to talk
    to (no cluster, being deleted, not ready yet), a Ready that ends the pass: the cluster's
    reconcile asks for this one when it becomes ready, and the sweeper covers the rest.

    The address comes from the cluster's last recorded status, so topics, ACLs and users keep
    converging while the Kubernetes API is unreachable.
    """
    found = load_cluster(ctx.session, cluster_uid)
    if found is None:
        return Ready("the cluster does not exist")
    c, row = found
    bootstrap = (row.data or {}).get("bootstrap_servers", "") if row is not None else ""
    if c.delete_time is not None:
        return Ready("the cluster is being deleted (its deletion removes everything in it)")
    if row is None or row.state not in ("ACTIVE", "UPDATING") or not bootstrap:
        return Ready("waiting for the cluster to be ready")
    return c, ctx.admin(bootstrap, admin_password(ctx.secret_key, c.uid))


def ready_condition(ok: bool, reason: str, message: str, generation: int) -> status.Condition:
    return status.condition("Ready", ok, reason, message, generation)


def record_all(
    ctx: Context,
    kind: str,
    cluster_uid: uuid.UUID,
    rows: Sequence[tuple[Row, ResourceStatus | None]],
    outcome: Callable[
        [Row, ResourceStatus | None], tuple[str, list[status.Condition], dict[str, Any], bool]
    ],
    body: Callable[[Row, ResourceStatus | None], dict[str, Any]],
    recheck: float = 60.0,
) -> None:
    """Status for every row (state, conditions, data, converged?) and finished Operations;
    an unchanged row's `last_checked_time` is touched once older than `recheck / 2` seconds."""
    observed: list[status.Observed] = []
    existing: dict[uuid.UUID, ResourceStatus] = {}
    for row, st in rows:
        if st is not None:
            existing[row.uid] = st
        state, conditions, data, done = outcome(row, st)
        observed.append(
            status.Observed(
                uid=row.uid,
                kind=kind,
                cluster_uid=cluster_uid,
                generation=row.generation,
                state=state,
                conditions=conditions,
                data=data,
                observed_generation=row.generation if done else None,
            )
        )
    stored = status.record_statuses(ctx.session, observed, existing, timedelta(seconds=recheck))
    by_uid = {row.uid: row for row, _ in rows}

    def response(uid: uuid.UUID, st: ResourceStatus | None) -> dict[str, Any]:
        return body(by_uid[uid], st)

    status.finish_operations(
        ctx.session, [o for o in observed if o.observed_generation is not None], response, stored
    )
