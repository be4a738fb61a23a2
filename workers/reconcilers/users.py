"""The users reconciler of one cluster: SCRAM-SHA-512 credentials and client quotas through
the Admin API.

The password is decrypted only here, handed to the broker with the salt and iteration count
the API stored (so the broker's credential equals the API's SCRAM material), and never logged.
Which password version a broker holds is remembered in the user's status data.
"""

from __future__ import annotations

import uuid
from typing import Any

from app.core.secrets import decrypt
from app.models import ResourceStatus, User
from app.users.views import body as user_body
from workers import status, store
from workers.adapters.kafka_admin import ScramUser
from workers.outcome import Outcome, Ready, RequeueAfter
from workers.planning import users as planning
from workers.reconcilers.common import admin_of, ready_condition, record_all
from workers.reconcilers.context import Context

KIND = "user"


def reconcile(ctx: Context, cluster_uid: uuid.UUID) -> Outcome:
    got = admin_of(ctx, cluster_uid)
    if isinstance(got, Ready):
        return got
    cluster, admin = got
    # One Kafka refused stays FAILED until its spec changes (a new generation): left out.
    rows = store.pending(ctx.session, User, cluster_uid)
    if not rows:
        return Ready("no users")
    desired = [
        planning.DesiredUser(
            uid=r.uid,
            name=r.user_id,
            password_version=r.password_version,
            applied_password_version=int((s.data or {}).get("password_version", 0)) if s else 0,
            quotas=dict(r.quotas),
            deleting=r.delete_time is not None,
        )
        for r, s in rows
    ]
    plan = planning.plan(desired, admin.scram_users(), admin.user_quotas())
    by_uid = {r.uid: r for r, _ in rows}
    errors = admin.upsert_scram(
        [
            ScramUser(
                u.name,
                decrypt(by_uid[u.uid].password_ciphertext),
                by_uid[u.uid].scram_salt,
                by_uid[u.uid].scram_iterations,
            )
            for u in plan.upsert
        ]
    )
    delete_errors = admin.delete_scram(plan.delete)
    # Quotas after credentials: a new user's quota applies from its first connection on.
    quota_errors = admin.alter_user_quotas(plan.quotas)

    def outcome(
        row: User, st: ResourceStatus | None
    ) -> tuple[str, list[status.Condition], dict[str, Any], bool]:
        error = errors.get(row.user_id) or quota_errors.get(row.user_id)
        if error is not None:
            data = dict(st.data) if st is not None else {}
            return (
                "FAILED",
                [ready_condition(False, "KafkaRefused", error, row.generation)],
                data,
                True,
            )
        ok = ready_condition(True, "CredentialReady", "the SCRAM credential is set", row.generation)
        return "ACTIVE", [ok], {"password_version": row.password_version}, True

    live = [(r, s) for r, s in rows if r.delete_time is None]
    record_all(ctx, KIND, cluster.uid, live, outcome, user_body)
    refused = delete_errors.keys() | quota_errors.keys()
    gone = [uid for uid in plan.gone if by_uid[uid].user_id not in refused]
    status.finish_deleted(ctx.session, gone)
    store.remove(ctx.session, User, gone)
    if len(gone) < len(plan.gone):
        return RequeueAfter(5.0, f"{len(plan.gone) - len(gone)} user deletion(s) refused")
    return Ready(
        f"{len(plan.upsert)} credentials set, {len(plan.delete)} removed, "
        f"quotas of {len(plan.quotas)} user(s) changed"
    )
