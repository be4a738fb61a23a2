"""`sweeper.due` against a real, migrated Postgres: which (task, cluster) pairs a sweep
re-enqueues — anything unconverged, anything not checked for `recheck`, never a resource
FAILED at its generation (it waits for a spec change) unless it is being deleted."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from app.models import Acl, Cluster, ResourceStatus, Topic
from app.models.base import DesiredState, utcnow
from tests.integration.workers.conftest import cluster_row
from workers.tasks.sweeper import due

RECHECK = timedelta(seconds=60)


def test_due_pairs(engine: Engine) -> None:
    now = utcnow()
    with Session(engine) as session:
        session.execute(delete(Cluster))

        def cluster(name: str) -> Cluster:
            return cluster_row(session, name, brokers=3)

        def status(
            row: DesiredState,
            kind: str,
            cluster_uid: uuid.UUID,
            state: str = "ACTIVE",
            observed: int = 1,
            checked_ago: float = 1,
        ) -> None:
            session.add(
                ResourceStatus(
                    resource_uid=row.uid,
                    kind=kind,
                    cluster_uid=cluster_uid,
                    observed_generation=observed,
                    state=state,
                    last_checked_time=now - timedelta(seconds=checked_ago),
                )
            )

        def topic(c: Cluster, name: str, **fields: object) -> Topic:
            t = Topic(
                cluster_uid=c.uid,
                project_id="p",
                cluster_id=c.cluster_id,
                topic_id=name,
                collision_key=name,
                partition_count=1,
                replication_factor=1,
                **fields,
            )
            session.add(t)
            session.flush()
            return t

        def acl(c: Cluster, name: str, **fields: object) -> Acl:
            a = Acl(
                cluster_uid=c.uid,
                project_id="p",
                cluster_id=c.cluster_id,
                acl_id=f"topic/{name}",
                resource_type="TOPIC",
                pattern_type="LITERAL",
                resource_name=name,
                acl_entries=[],
                **fields,
            )
            session.add(a)
            session.flush()
            return a

        new = cluster("new")  # no status yet
        converged = cluster("converged")
        status(converged, "cluster", converged.uid)
        status(topic(converged, "ok"), "topic", converged.uid)
        status(acl(converged, "ok"), "acl", converged.uid)
        stale = cluster("stale")  # converged, not checked for longer than the recheck
        status(stale, "cluster", stale.uid, checked_ago=120)
        changed = cluster("changed")
        changed.generation = 2
        status(changed, "cluster", changed.uid, observed=1)
        updating = cluster("updating")
        status(updating, "cluster", updating.uid, state="UPDATING")
        refused = cluster("refused")  # FAILED at its generation: waits for a new spec
        status(refused, "cluster", refused.uid, state="FAILED", checked_ago=120)
        status(topic(refused, "refused"), "topic", refused.uid, state="FAILED", checked_ago=120)
        retried = cluster("retried")  # FAILED at an older generation: the new one is tried
        retried.generation = 3
        status(retried, "cluster", retried.uid, state="FAILED", observed=2)
        children = cluster("children")
        status(children, "cluster", children.uid)
        topic(children, "unreconciled")  # no status
        deleting = acl(children, "leaving", delete_time=now)
        status(deleting, "acl", children.uid, state="FAILED")  # FAILED, but being deleted
        session.commit()

        got = due(session, RECHECK)
        assert got == {
            ("clusters.reconcile", new.uid),
            ("clusters.reconcile", stale.uid),
            ("clusters.reconcile", changed.uid),
            ("clusters.reconcile", updating.uid),
            ("clusters.reconcile", retried.uid),
            ("topics.reconcile", children.uid),
            ("acls.reconcile", children.uid),
        }
        # A longer recheck drops the stale one; nothing else changes.
        assert due(session, timedelta(seconds=600)) == got - {("clusters.reconcile", stale.uid)}
