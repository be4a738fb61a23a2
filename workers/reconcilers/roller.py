"""The roll step of the cluster reconciler: restart pods onto their StatefulSet's template.

The StatefulSets use updateStrategy OnDelete, so a changed template (a new image, a broker
setting that needs a restart, new resources) reaches a pod only when the pod is deleted. This
step gathers the facts — each pod's revision against the StatefulSet's update revision, the
metadata quorum, every partition's ISR, the maintenance window, a cancel request — asks the pure
planner (workers.planning.roller) for the one next action and does it: delete one pod, wait
(by requeue), finalize metadata.version, or nothing. The plan is the Operation's sub-steps of
`roll` (a step per pod, then the finalize step), with `blocked: <reason>` as the status
message when blocked. Kafka is read through the context's roll client (`Context.roll_admin`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update

from app.core.kafka_config import kafka_versions
from app.models import Cluster, Operation
from app.models.base import utcnow
from workers import status
from workers.adapters import brokers, kafka_roll
from workers.adapters.kube import Obj
from workers.builders import names
from workers.outcome import TransientError
from workers.planning import roller as planner
from workers.reconcilers.cluster_state import Pass, RollState, image_version, pod_ready
from workers.reconcilers.context import Context
from workers.reconcilers.runbook import StepState, Wait

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
UP_TO_DATE = "every pod runs its StatefulSet's template"


def _cannot_start(pod: Obj) -> str:
    for cs in pod.get("status", {}).get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in CANNOT_START:
            return f"{waiting['reason']}: {waiting.get('message', '')}".strip(": ")
    return ""


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
                ready=pod_ready(pod),
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


def _condition(p: Pass, ok: bool, reason: str, message: str) -> None:
    p.conditions.append(status.condition(CONDITION, ok, reason, message, p.cluster.generation))


@dataclass
class KafkaFacts:
    """What the brokers told this pass; None where a read failed or was not made (then the
    planner restarts nothing that depends on it)."""

    quorum: planner.QuorumFacts | None = None
    partitions: list[planner.PartitionFacts] | None = None
    levels: kafka_roll.FeatureLevels | None = None


def _statefulsets(p: Pass) -> dict[str, Obj] | Wait | None:
    """Both StatefulSets by pool, once the StatefulSet controller has seen their templates;
    None while one does not exist yet."""
    sets: dict[str, Obj] = {}
    for pool, sts_name in (("controller", names.CONTROLLERS), ("broker", names.BROKERS)):
        sts = p.ctx.kube.get("StatefulSet", sts_name, p.namespace)
        if sts is None:
            return None
        observed = (sts.get("status") or {}).get("observedGeneration", 0)
        if observed < sts["metadata"].get("generation", 0):
            # The StatefulSet controller has not seen the new template: its revision is stale.
            return Wait(
                0.5, "Rolling", f"waiting for the StatefulSet controller to observe {sts_name}"
            )
        sets[pool] = sts
    return sets


def _kafka_facts(p: Pass, facts: list[planner.PodFacts], levels: bool) -> KafkaFacts:
    """Read the quorum, the partitions and (for an upgrade) metadata.version — unless a pod
    is (re)starting (being deleted, or on the current template and not Ready yet): the plan
    is then to wait for it, whatever Kafka says. A pod not Ready on its old template (frozen,
    crashed) is no restart of ours: Kafka's view is what explains why the roll must wait."""
    found = KafkaFacts()
    if any(f.deleting or (f.current and not f.ready) for f in facts):
        return found
    ctx = p.ctx
    try:
        bootstrap = brokers.bootstrap_servers(ctx.kube, ctx.settings, p.cluster.uid)
        with ctx.roll_admin(bootstrap, p.password, _roll_timeout(ctx)) as admin:
            found.quorum = admin.quorum()
            found.partitions = admin.partitions()
            if levels:
                found.levels = admin.metadata_version()
    except TransientError as exc:
        ctx.log.debug("roll: Kafka facts unavailable: %s", exc)
    return found


def roll(p: Pass, now: datetime | None = None) -> Wait | None:
    """Decide and do the roll's next action; the PodsUpToDate condition says where it is.

    The status data keeps what must survive between passes: the roll in progress, a cancelled
    generation, and the version whose metadata.version is known to be finalized."""
    ctx, c, d = p.ctx, p.cluster, p.data
    gen = c.generation
    pods = p.pods()
    sets = _statefulsets(p)
    if sets is None:
        _condition(p, False, "Creating", "no StatefulSet yet")
        return None
    if isinstance(sets, Wait):
        _condition(p, False, "Rolling", sets.message)
        return sets
    facts = [f for pool, sts in sets.items() for f in pod_facts(sts, pods.of(pool), pool)]
    if d.roll_cancelled == gen:
        why = "the roll of this generation was cancelled; a new change starts it again"
        _condition(p, all(f.current for f in facts), "Cancelled", why)
        return None
    d.roll_cancelled = None
    images = {
        image_version(pod["spec"]["containers"][0]["image"])
        for pod in [*pods.controllers, *pods.brokers]
    }
    all_new = images == {c.kafka_version}
    finalized_for = d.metadata_version_finalized_for
    settled = all(f.current and f.ready and not f.deleting for f in facts)
    if settled and d.roll is None and finalized_for == c.kafka_version:
        _condition(p, True, "UpToDate", UP_TO_DATE)
        return None
    if not settled and d.roll is None and all(f.current for f in facts):
        # Pods starting for the first time (creation, a crash): not a roll; the pods step waits.
        _condition(p, True, "UpToDate", "pods starting")
        return None

    kafka = _kafka_facts(p, facts, levels=all_new and finalized_for != c.kafka_version)
    mv_name = kafka_versions().versions[c.kafka_version].metadata_version
    finalize: planner.Finalize | None = None
    if kafka.levels is not None:
        finalize = planner.Finalize(kafka.levels.finalized, kafka.levels.supported_max, mv_name)
    elif finalized_for != c.kafka_version:
        # Not read (yet): an upgrade's last step, shown pending until the levels are known.
        finalize = planner.Finalize(0, 1, mv_name)
    window_open, window_next = planner.window_state(c.maintenance_window, now or datetime.now(UTC))
    plan = planner.plan(
        planner.RollInput(
            pods=facts,
            quorum=kafka.quorum,
            partitions=kafka.partitions,
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
        d.roll = None
        if finalize is not None and finalize.finalized >= finalize.target:
            d.metadata_version_finalized_for = c.kafka_version
        if action.kind == "cancelled":
            d.roll_cancelled = gen
            _finish_cancelled(ctx, c, action.reason)
            _condition(p, False, "Cancelled", action.reason)
        elif action.kind == "window":
            _condition(p, False, "WaitingForMaintenanceWindow", action.reason)
        else:
            _condition(p, True, "UpToDate", UP_TO_DATE)
        return None

    d.roll = RollState(gen, action.pod, action.kind)
    seconds = _act(p, plan, finalize if kafka.levels is not None else None)
    blocked = action.kind == "blocked"
    _condition(p, False, "Blocked" if blocked else "Rolling", plan.status_message)
    return Wait(
        seconds,
        "Rolling",
        plan.status_message,
        percent=plan.percent,
        detail=tuple(StepState(s.name, s.state, s.message) for s in plan.steps),
        blocked=blocked,
    )


def _act(p: Pass, plan: planner.RollPlan, finalize: planner.Finalize | None) -> float:
    """Do the plan's action; the seconds until the next pass looks again."""
    action = plan.action
    if action.kind == "delete":
        # Deletion sends SIGTERM with the pod's grace period: Kafka's controlled shutdown moves
        # leadership away first; the StatefulSet recreates the pod from the current template.
        p.ctx.kube.delete("Pod", action.pod, p.namespace)
        return 2.0
    if action.kind == "finalize" and finalize is None:
        return 1.0  # the levels were not read this pass
    if action.kind == "finalize":
        assert finalize is not None
        ctx = p.ctx
        try:
            bootstrap = brokers.bootstrap_servers(ctx.kube, ctx.settings, p.cluster.uid)
            with ctx.roll_admin(bootstrap, p.password, _roll_timeout(ctx)) as admin:
                admin.finalize_metadata_version(finalize.target)
        except TransientError as exc:
            ctx.log.info("roll: finalizing metadata.version failed: %s", exc)
        return 0.5
    if action.kind == "blocked":
        return 3.0
    return 1.0
