"""The ACL reconciler of one cluster: the bindings kplane wants, by set difference against the
bindings the brokers have on the resource patterns kplane manages (one describe, one create,
one delete). Bindings on any other pattern are left alone."""

from __future__ import annotations

import uuid
from typing import Any

from app.acls.views import body as acl_body
from app.models import Acl, ResourceStatus
from workers import status, store
from workers.outcome import Outcome, Ready, RequeueAfter
from workers.planning import acls as planning
from workers.reconcilers.common import admin_of, ready_condition, record_all
from workers.reconcilers.context import Context

KIND = "acl"


def reconcile(ctx: Context, cluster_uid: uuid.UUID) -> Outcome:
    got = admin_of(ctx, cluster_uid)
    if isinstance(got, Ready):
        return got
    cluster, admin = got
    # One Kafka refused stays FAILED until its spec changes (a new generation): left out.
    rows = store.pending(ctx.session, Acl, cluster_uid)
    if not rows:
        return Ready("no acls")
    desired = [
        planning.DesiredAcl(
            uid=r.uid,
            resource_type=r.resource_type,
            resource_name=r.resource_name,
            pattern_type=r.pattern_type,
            entries=list(r.acl_entries),
            deleting=r.delete_time is not None,
        )
        for r, _ in rows
    ]
    plan = planning.plan(desired, admin.describe_acls())
    create_errors = admin.create_acls(plan.create)
    delete_errors = admin.delete_acls(plan.delete)
    failed_patterns: dict[planning.PatternKey, str] = {}
    for binding, message in [*create_errors.items(), *delete_errors.items()]:
        failed_patterns.setdefault(binding.pattern, message)

    def outcome(
        row: Acl, st: ResourceStatus | None
    ) -> tuple[str, list[status.Condition], dict[str, Any], bool]:
        error = failed_patterns.get((row.resource_type, row.resource_name, row.pattern_type))
        if error is not None:
            return (
                "FAILED",
                [ready_condition(False, "KafkaRefused", error, row.generation)],
                {},
                True,
            )
        ok = ready_condition(True, "AclsReady", "the bindings match", row.generation)
        return "ACTIVE", [ok], {}, True

    live = [(r, s) for r, s in rows if r.delete_time is None]
    record_all(ctx, KIND, cluster.uid, live, outcome, acl_body)
    gone = [
        r.uid
        for r, _ in rows
        if r.uid in plan.gone
        and (r.resource_type, r.resource_name, r.pattern_type) not in failed_patterns
    ]
    status.finish_deleted(ctx.session, gone)
    store.remove(ctx.session, Acl, gone)
    if delete_errors:
        return RequeueAfter(5.0, f"{len(delete_errors)} ACL deletion(s) refused")
    return Ready(f"{len(plan.create)} bindings created, {len(plan.delete)} deleted")
