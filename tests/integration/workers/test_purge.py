"""The sweeper's purge against a real, migrated Postgres: done Operations that ended more than
30 days ago and idempotency records older than 24 h go, in batches; everything younger, and
every Operation still running however old, stays."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.models import IdempotencyRecord, Operation
from app.models.base import utcnow
from workers.tasks.sweeper import purge


def operation(name: str, done: bool, ended_days_ago: float | None) -> Operation:
    now = utcnow()
    end = None if ended_days_ago is None else now - timedelta(days=ended_days_ago)
    return Operation(
        project_id="p",
        operation_id=name,
        verb="create",
        kind="topic",
        target=f"projects/p/clusters/c/topics/{name}",
        target_uid=uuid.uuid4(),
        cluster_uid=uuid.uuid4(),
        target_generation=1,
        done=done,
        end_time=end,
        create_time=(end or now) - timedelta(seconds=1),
    )


def record(key: str, hours_ago: float) -> IdempotencyRecord:
    return IdempotencyRecord(
        principal="admin",
        key=key,
        request_hash="0" * 64,
        status_code=200,
        body=b"x",
        body_encrypted=False,
        create_time=utcnow() - timedelta(hours=hours_ago),
    )


def test_purge_deletes_only_what_expired(engine: Engine) -> None:
    with Session(engine) as session:
        session.add_all(
            [operation(f"old-{i}", True, 31 + i / 100) for i in range(25)]
            + [
                operation("recent", True, 29),
                operation("running-for-ages", False, None),
                operation("failed-long-ago-but-not-done", False, 40),
            ]
            + [record(f"stale-{i}", 25 + i / 10) for i in range(12)]
            + [record("fresh", 23)]
        )
        session.commit()

        # A batch of 10 makes the purge loop several times (25 = 10 + 10 + 5).
        assert purge(session, utcnow(), batch=10) == (25, 12)

        left = set(session.scalars(select(Operation.operation_id)))
        assert left == {"recent", "running-for-ages", "failed-long-ago-but-not-done"}
        assert set(session.scalars(select(IdempotencyRecord.key))) == {"fresh"}
        # Nothing left to purge: a second run deletes nothing.
        assert purge(session, utcnow(), batch=10) == (0, 0)
        assert session.scalar(select(func.count()).select_from(Operation)) == 3


def test_purge_skips_a_record_held_by_a_request(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(record("held", 30))
        session.commit()
    with Session(engine) as holder, Session(engine) as sweeper:
        # A request in flight holds its record's row lock (as the API's idempotency check does).
        holder.execute(
            select(IdempotencyRecord).where(IdempotencyRecord.key == "held").with_for_update()
        )
        assert purge(sweeper, utcnow()) == (0, 0)
        holder.rollback()
        assert purge(sweeper, utcnow()) == (0, 1)
