"""The topics reconciler of one cluster: one batched describe, one batched create, incremental
config alteration, partition growth, deletion. Out-of-band changes to managed topics are
reverted and reported (a `Drift` condition and an audit record); topics kplane does not
manage are never touched."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from app.models import ResourceStatus, Topic
from app.models.base import utcnow
from app.topics.views import body as topic_body
from workers import status, store
from workers.outcome import Outcome, Ready, RequeueAfter
from workers.planning import topics as planning
from workers.reconcilers.common import admin_of, ready_condition, record_all
from workers.reconcilers.context import Context

KIND = "topic"


def _desired(row: Topic, st: ResourceStatus | None) -> planning.DesiredTopic:
    return planning.DesiredTopic(
        uid=row.uid,
        name=row.topic_id,
        partitions=row.partition_count,
        replication_factor=row.replication_factor,
        configs=dict(row.configs),
        generation=row.generation,
        observed_generation=st.observed_generation if st is not None else 0,
        deleting=row.delete_time is not None,
    )


def reconcile(ctx: Context, cluster_uid: uuid.UUID) -> Outcome:
    got = admin_of(ctx, cluster_uid)
    if isinstance(got, Ready):
        return got
    cluster, admin = got
    # A converged topic checked moments ago is left out, so a pass caused by one new topic (or
    # a batch of them) describes those, not every topic of the cluster; drift on the others is
    # still found within one recheck interval, when the sweeper asks for the pass that looks.
    checked_after = utcnow() - timedelta(seconds=ctx.settings.recheck_seconds / 2)
    # A topic Kafka refused stays FAILED until its spec changes (a new generation): left out.
    rows = store.pending(ctx.session, Topic, cluster_uid, checked_after)
    if not rows:
        return Ready("no topics to look at")
    desired = [_desired(r, s) for r, s in rows]
    plan = planning.plan(desired, admin.describe_topics([t.name for t in desired]))

    errors: dict[str, str] = {}
    errors |= admin.create_topics(
        [(t.name, t.partitions, t.replication_factor, t.configs) for t in plan.create]
    )
    errors |= admin.alter_topic_configs(plan.alter)
    errors |= admin.create_partitions(plan.partitions)
    delete_errors = admin.delete_topics(plan.delete)

    by_name = {r.topic_id: r for r, _ in rows}
    gone = list(plan.gone) + [by_name[n].uid for n in plan.delete if n not in delete_errors]
    for uid, found in plan.drift.items():
        row = next(r for r, _ in rows if r.uid == uid)
        store.audit(
            ctx.session,
            row.project_id,
            "topics.revertOutOfBandChange",
            f"projects/{row.project_id}/clusters/{row.cluster_id}/topics/{row.topic_id}",
            "reverted: " + "; ".join(found),
            ctx.reconcile_id,
        )

    def outcome(
        row: Topic, st: ResourceStatus | None
    ) -> tuple[str, list[status.Condition], dict[str, Any], bool]:
        gen = row.generation
        error = errors.get(row.topic_id)
        if error is not None:
            return "FAILED", [ready_condition(False, "KafkaRefused", error, gen)], {}, True
        conditions = [ready_condition(True, "TopicReady", "the topic matches its spec", gen)]
        if row.uid in plan.drift:
            conditions.append(
                status.condition(
                    "Drift", True, "OutOfBandChangeReverted", "; ".join(plan.drift[row.uid]), gen
                )
            )
        elif st is not None:
            # The report of a revert stays until the spec changes: a clean pass right after
            # it must not erase what an operator should see.
            last = next((c for c in st.conditions if c.get("type") == "Drift"), None)
            if last is not None and last.get("observed_generation") == gen:
                conditions.append(dict(last))
            elif last is not None:
                conditions.append(status.condition("Drift", False, "InSync", "no drift", gen))
        if row.uid in plan.blocked:
            conditions.append(
                status.condition("SpecApplied", False, "CannotRevert", plan.blocked[row.uid], gen)
            )
        return "ACTIVE", conditions, {}, True

    live = [(r, s) for r, s in rows if r.delete_time is None]
    record_all(
        ctx, KIND, cluster.uid, live, outcome, topic_body, recheck=ctx.settings.recheck_seconds
    )
    for row, _ in live:
        if row.topic_id in errors:
            status.fail_operations(
                ctx.session, row.uid, row.generation, "KAFKA_REFUSED", errors[row.topic_id]
            )
    status.finish_deleted(ctx.session, gone)
    store.remove(ctx.session, Topic, gone)
    if delete_errors:
        return RequeueAfter(5.0, f"{len(delete_errors)} topic deletion(s) refused")
    if store.arrived(ctx.session, Topic, cluster_uid, [r.uid for r, _ in rows]):
        # Created while this pass ran (e.g. the next of several batch creates): their own
        # message met the cluster's lock and waits seconds; look at them right away instead.
        return RequeueAfter(0.0, "more topics arrived during the pass")
    return Ready(f"{len(plan.create)} created, {len(plan.alter)} altered, {len(gone)} deleted")
