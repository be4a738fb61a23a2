"""The roll step of the cluster reconciler: restart pods onto their StatefulSet's template.

The StatefulSets use updateStrategy OnDelete, so a changed template (a new image, a broker
setting that needs a restart, new resources) reaches a pod only when the pod is deleted. This
step gathers the facts — each pod's revision against the StatefulSet's update revision, the
metadata quorum, every partition's ISR, the maintenance window, a cancel request — asks the pure
planner (workers.planning.roller) for the one next action and does it: delete one pod, wait
(by requeue), finalize metadata.version, or nothing. The plan is written to the pending
Operations' steps, with `blocked: <reason>` as their status message when blocked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from app.core.kafka_config import kafka_versions
from app.models import Cluster, Operation
from app.models.base import utcnow
from workers import status
from workers.adapters import brokers, kafka_roll
from workers.adapters.kube import Obj
from workers.builders import names
from workers.outcome import Outcome, RequeueAfter, TransientError
from workers.planning import roller as planner
from workers.reconcilers.context import Context

CONDITION = "PodsUpToDate"
# Container waiting reasons that say a pod will not start by waiting longer.
CANNOT_START = {
    "ErrImagePull",
    "ImagePullBackOff",
    "ImageNotRunnable",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
}
# A controller at most this many metadata records behind the leader counts as caught up.
MAX_CONTROLLER_LAG = 1000


@dataclass(frozen=True)
class Rolled:
    """The step's result: an outcome that ends the pass (None: the pass goes on) and the
    PodsUpToDate condition for the cluster's status."""

    outcome: Outcome | None
    condition: status.Condition
    message: str = ""


def _ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in pod.get("status", {}).get("conditions", [])
    )


def _cannot_start(pod: Obj) -> str:
    for cs in pod.get("status", {}).get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in CANNOT_START:
            return f"{waiting['reason']}: {waiting.get('message', '')}".strip(": ")
    return ""


def image_version(image: str) -> str:
    return image.rsplit(":", 1)[-1].split("-", 1)[0]


def pod_facts(sts: Obj, pods: list[Obj], pool: str) -> list[planner.PodFacts]:
    """Each pod of a StatefulSet as the planner sees it; a pod not (re)created yet counts as
    current and not ready (the roller waits for it)."""
    revision = (sts.get("status") or {}).get("updateRevision", "")
    template = sts["spec"]["template"]["metadata"].get("annotations") or {}
    replicas = int(sts["spec"].get("replicas") or 0)
    offset = names.BROKER_ID_OFFSET if pool == "broker" else 0
    by_name = {p["metadata"]["name"]: p for p in pods}
    out = []
    for ordinal in range(replicas):
        name = f"{sts['metadata']['name']}-{ordinal}"
        pod = by_name.get(name)
        if pod is None:
            out.append(planner.PodFacts(name, pool, offset + ordinal, ready=False, current=True))
            continue
        meta = pod["metadata"]
        annotations = meta.get("annotations") or {}
        out.append(
            planner.PodFacts(
                name=name,
                pool=pool,
                node_id=offset + ordinal,
                ready=_ready(pod),
                current=meta.get("labels", {}).get(names.LABEL_REVISION) == revision,
                # A pod from before the hash existed differs by kplane's own template change.
                user_change=annotations.get(names.ANNOTATION_USER_HASH, "")
                not in ("", template.get(names.ANNOTATION_USER_HASH)),
                deleting=bool(meta.get("deletionTimestamp")),
                cannot_start=_cannot_start(pod),
            )
        )
    return out


def _cancel_requested(ctx: Context, c: Cluster) -> bool:
    return bool(
        ctx.session.scalar(
            select(Operation.uid)
            .where(
                Operation.target_uid == c.uid,
                Operation.done.is_(False),
                Operation.cancel_requested.is_(True),
            )
            .limit(1)
        )
    )


def _finish_cancelled(ctx: Context, c: Cluster, message: str) -> None:
    """End the cancelled Operations with CANCELLED (AIP-193); desired state stays as it is."""
    now = utcnow()
    ctx.session.execute(
        update(Operation)
        .where(
            Operation.target_uid == c.uid,
            Operation.done.is_(False),
            Operation.cancel_requested.is_(True),
        )
        .values(
            done=True,
            end_time=now,
            update_time=now,
            status_message=message,
            error={
                "code": 499,
                "status": "CANCELLED",
                "message": message,
                "details": [
                    {
                        "@type": "ErrorInfo",
                        "reason": "ROLL_CANCELLED",
                        "domain": "kplane",
                        "metadata": {},
                    }
                ],
            },
            version=Operation.version + 1,
        )
    )


def _roll_timeout(ctx: Context) -> float:
    # Each read is tried on up to three brokers (one may be the stopped one): keep the worst
    # case of a pass well inside the task's time limit.
    return min(ctx.settings.kafka_timeout_seconds, 5.0)


def _condition(ok: bool, reason: str, message: str, gen: int) -> status.Condition:
    return status.condition(CONDITION, ok, reason, message, gen)


def roll(
    ctx: Context,
    c: Cluster,
    pods: dict[str, list[Obj]],
    data: dict[str, Any],
    now: datetime | None = None,
) -> Rolled:
    """Decide and do the roll's next action. `data` (the cluster's status data) keeps what
    must survive between passes: the roll in progress and the version whose metadata.version
    is known to be finalized."""
    gen = c.generation
    namespace = names.namespace_of(c.uid)
    sets: dict[str, Obj] = {}
    for pool, sts_name in (("controller", names.CONTROLLERS), ("broker", names.BROKERS)):
        sts = ctx.kube.get("StatefulSet", sts_name, namespace)
        if sts is None:
            return Rolled(None, _condition(False, "Creating", "no StatefulSet yet", gen))
        observed = (sts.get("status") or {}).get("observedGeneration", 0)
        if observed < sts["metadata"].get("generation", 0):
            # The StatefulSet controller has not seen the new template: its revision is stale.
            why = f"waiting for the StatefulSet controller to observe {sts_name}"
            return Rolled(RequeueAfter(0.5, why), _condition(False, "Rolling", why, gen), why)
        sets[pool] = sts
    facts = [f for pool, sts in sets.items() for f in pod_facts(sts, pods[pool], pool)]
    if data.get("roll_cancelled") == gen:
        why = "the roll of this generation was cancelled; a new change starts it again"
        ok = all(f.current for f in facts)
        return Rolled(None, _condition(ok, "Cancelled", why, gen))
    data.pop("roll_cancelled", None)
    images = {
        image_version(p["spec"]["containers"][0]["image"]) for pool in pods.values() for p in pool
    }
    all_new = images == {c.kafka_version}
    finalized_for = data.get("metadata_version_finalized_for")
    settled = all(f.current and f.ready and not f.deleting for f in facts)
    if settled and not data.get("roll") and finalized_for == c.kafka_version:
        return Rolled(
            None, _condition(True, "UpToDate", "every pod runs its StatefulSet's template", gen)
        )
    if not settled and not data.get("roll") and all(f.current for f in facts):
        # Pods starting for the first time (creation, a crash): not a roll; the pods step waits.
        return Rolled(None, _condition(True, "UpToDate", "pods starting", gen))

    # Facts from Kafka; what cannot be read blocks the restarts that depend on it.
    password = names.admin_password(ctx.secret_key, c.uid)
    quorum: planner.QuorumFacts | None = None
    partitions: list[planner.PartitionFacts] | None = None
    finalize: planner.Finalize | None = None
    mv_name = kafka_versions().versions[c.kafka_version].metadata_version
    try:
        if not all(f.ready and not f.deleting for f in facts):
            # A pod is (re)starting: the plan is to wait for it, whatever Kafka says.
            raise TransientError("a pod is not ready")
        bootstrap = brokers.bootstrap_servers(ctx.kube, ctx.settings, c.uid)
        with kafka_roll.roll_admin(
            bootstrap, names.ADMIN_USERNAME, password, _roll_timeout(ctx)
        ) as admin:
            quorum = admin.quorum()
            partitions = admin.partitions()
            if all_new and finalized_for != c.kafka_version:
                levels = admin.metadata_version()
                finalize = planner.Finalize(levels.finalized, levels.supported_max, mv_name)
    except TransientError as exc:
        ctx.log.debug("roll: Kafka facts unavailable: %s", exc)
    levels_known = finalize is not None
    if finalize is None and finalized_for != c.kafka_version:
        # Not read (yet): an upgrade's last step, shown pending until the levels are known.
        finalize = planner.Finalize(0, 1, mv_name)
    window_open, window_next = planner.window_state(c.maintenance_window, now or datetime.now(UTC))
    plan = planner.plan(
        planner.RollInput(
            pods=facts,
            quorum=quorum,
            partitions=partitions,
            cancel=_cancel_requested(ctx, c),
            window_open=window_open,
            window_next=window_next,
            finalize=finalize,
            max_lag=MAX_CONTROLLER_LAG,
        )
    )
    action = plan.action
    ctx.log.info("roll: %s %s", action.kind, plan.status_message)
    if action.kind in ("done", "window", "cancelled"):
        data.pop("roll", None)
        if finalize is not None and finalize.finalized >= finalize.target:
            data["metadata_version_finalized_for"] = c.kafka_version
        if action.kind == "cancelled":
            data["roll_cancelled"] = gen
            _finish_cancelled(ctx, c, action.reason)
            return Rolled(None, _condition(False, "Cancelled", action.reason, gen))
        if action.kind == "window":
            return Rolled(
                None, _condition(False, "WaitingForMaintenanceWindow", action.reason, gen)
            )
        return Rolled(
            None, _condition(True, "UpToDate", "every pod runs its StatefulSet's template", gen)
        )
    status.report_progress(
        ctx.session, c.uid, [s.as_dict() for s in plan.steps], plan.percent, plan.status_message
    )
    data["roll"] = {"generation": gen, "pod": action.pod, "action": action.kind}
    if action.kind == "delete":
        # Deletion sends SIGTERM with the pod's grace period: Kafka's controlled shutdown moves
        # leadership away first; the StatefulSet recreates the pod from the current template.
        ctx.kube.delete("Pod", action.pod, namespace)
        outcome: Outcome = RequeueAfter(2.0, plan.status_message)
    elif action.kind == "finalize" and not levels_known:
        outcome = RequeueAfter(1.0, "reading metadata.version")
    elif action.kind == "finalize":
        assert finalize is not None
        try:
            with kafka_roll.roll_admin(
                brokers.bootstrap_servers(ctx.kube, ctx.settings, c.uid),
                names.ADMIN_USERNAME,
                password,
                _roll_timeout(ctx),
            ) as admin:
                admin.finalize_metadata_version(finalize.target)
        except TransientError as exc:
            ctx.log.info("roll: finalizing metadata.version failed: %s", exc)
        outcome = RequeueAfter(0.5, plan.status_message)
    elif action.kind == "blocked":
        outcome = RequeueAfter(3.0, plan.status_message)
    else:
        outcome = RequeueAfter(1.0, plan.status_message)
    reason = "Blocked" if action.kind == "blocked" else "Rolling"
    return Rolled(outcome, _condition(False, reason, plan.status_message, gen), plan.status_message)
