"""Which topics a topic pass reads (workers/store.py), against a real, migrated Postgres:
unconverged ones and converged ones not checked lately; and whether topics arrived while a
pass ran."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.models import ResourceStatus, Topic
from app.models.base import utcnow
from tests.integration.workers.conftest import cluster_row
from workers import store


def test_topics_due_and_arrived(engine: Engine) -> None:
    now = utcnow()
    with Session(engine) as session:
        cluster = cluster_row(session, brokers=3)

        def topic(name: str, generation: int = 1, deleting: bool = False) -> Topic:
            t = Topic(
                cluster_uid=cluster.uid,
                project_id="p",
                cluster_id="c",
                topic_id=name,
                collision_key=name,
                partition_count=1,
                replication_factor=1,
                generation=generation,
                delete_time=now if deleting else None,
            )
            session.add(t)
            session.flush()
            return t

        def status(t: Topic, state: str, observed: int, checked_ago: float) -> None:
            session.add(
                ResourceStatus(
                    resource_uid=t.uid,
                    kind="topic",
                    cluster_uid=cluster.uid,
                    observed_generation=observed,
                    state=state,
                    last_checked_time=now - timedelta(seconds=checked_ago),
                )
            )

        new = topic("new")
        fresh = topic("fresh")
        status(fresh, "ACTIVE", 1, checked_ago=1)
        stale = topic("stale")
        status(stale, "ACTIVE", 1, checked_ago=100)
        changed = topic("changed", generation=2)
        status(changed, "ACTIVE", 1, checked_ago=1)
        leaving = topic("leaving", deleting=True)
        status(leaving, "ACTIVE", 1, checked_ago=1)
        failed = topic("failed")
        status(failed, "FAILED", 1, checked_ago=1)
        session.commit()

        due = {
            t.topic_id
            for t, _ in store.pending(session, Topic, cluster.uid, now - timedelta(seconds=60))
        }
        # One FAILED at its generation waits for a spec change.
        assert due == {"new", "stale", "changed", "leaving"}
        every = {t.topic_id for t, _ in store.pending(session, Topic, cluster.uid)}
        assert every == {"new", "fresh", "stale", "changed", "leaving"}

        handled = [new.uid, stale.uid, changed.uid, leaving.uid]
        assert not store.arrived(session, Topic, cluster.uid, handled)
        topic("arrived")
        session.commit()
        assert store.arrived(session, Topic, cluster.uid, handled)
