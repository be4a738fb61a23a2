"""Status rows and Operations written set-based against a real, migrated Postgres: one upsert
and one UPDATE for any number of resources, nothing written when nothing changed."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.models import Operation, ResourceStatus
from workers import status


def observed(uid: uuid.UUID, cluster: uuid.UUID, ok: bool = True) -> status.Observed:
    return status.Observed(
        uid=uid,
        kind="topic",
        cluster_uid=cluster,
        generation=1,
        state="ACTIVE" if ok else "FAILED",
        conditions=[status.condition("Ready", ok, "TopicReady", "the topic matches", 1)],
        data={"n": 1},
        observed_generation=1,
    )


def test_many_statuses_and_operations_in_one_pass(engine: Engine) -> None:
    cluster = uuid.uuid4()
    uids = [uuid.uuid4() for _ in range(300)]
    with Session(engine) as session:
        for i, uid in enumerate(uids):
            session.add(
                Operation(
                    project_id="p",
                    operation_id=f"op-{cluster.hex[:8]}-{i}",
                    verb="create",
                    kind="topic",
                    target=f"projects/p/clusters/c/topics/t{i}",
                    target_uid=uid,
                    cluster_uid=cluster,
                    target_generation=1,
                )
            )
        # One Operation of a newer generation must stay pending.
        session.add(
            Operation(
                project_id="p",
                operation_id=f"op-{cluster.hex[:8]}-later",
                verb="update",
                kind="topic",
                target="projects/p/clusters/c/topics/t0",
                target_uid=uids[0],
                cluster_uid=cluster,
                target_generation=2,
            )
        )
        session.commit()

        seen = [observed(uid, cluster) for uid in uids]
        stored = status.record_statuses(session, seen)
        assert len(stored) == len(uids) and stored[uids[5]].state == "ACTIVE"

        def response(uid: uuid.UUID, st: ResourceStatus | None) -> dict[str, Any]:
            assert st is not None
            return {"uid": str(uid), "state": st.state, "version": st.version}

        status.finish_operations(session, seen, response, stored)
        session.commit()

        rows = {r.resource_uid: r for r in session.scalars(select(ResourceStatus))}
        assert {u for u in uids} <= rows.keys()
        row = rows[uids[7]]
        assert (row.state, row.observed_generation, row.version) == ("ACTIVE", 1, 1)
        assert row.conditions[0]["type"] == "Ready" and row.conditions[0]["last_transition_time"]
        assert row.data == {"n": 1}
        ops = list(session.scalars(select(Operation).where(Operation.cluster_uid == cluster)))
        done = [o for o in ops if o.done]
        assert len(done) == len(uids)
        assert all(
            o.response == {"uid": str(o.target_uid), "state": "ACTIVE", "version": 1} for o in done
        )
        assert [o.target_generation for o in ops if not o.done] == [2]

        # The same observation again writes no status row (a visible change would bump version).
        assert status.record(session, seen) == 0
        # A change to one resource writes that one row only, with its version bumped.
        assert status.record(session, [observed(uids[3], cluster, ok=False)]) == 1
        session.commit()
        changed = session.scalars(
            select(ResourceStatus)
            .where(ResourceStatus.resource_uid == uids[3])
            .execution_options(populate_existing=True)
        ).one()
        assert (changed.state, changed.version) == ("FAILED", 2)
