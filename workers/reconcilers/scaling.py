"""The cluster reconciler's placement step: partitions follow `broker_count`.

Scale-out: the StatefulSet grows first (the objects step); once the new brokers are registered,
this step reassigns partitions onto them. Scale-in: the StatefulSet keeps its pods while every
replica on the brokers being removed moves away; once Kafka lists no replica and the brokers'
log directories hold no partition there, the StatefulSet shrinks, the pods stop, and their
volumes are deleted or kept by the worker's policy. Both move under a replication throttle
(broker `*.replication.throttled.rate`, topic `*.replication.throttled.replicas` on the topics
kplane manages — the configs of internal and unmanaged topics are never touched, their
replicas move unthrottled), removed once placement is done. The cluster is ACTIVE (and its
Operation done) only then.

Level-triggered: every pass starts from what Kafka reports. Reassignments in flight
(ListPartitionReassignments) are waited for by requeue, never re-planned, so a worker that
crashed mid-move resumes without starting a second, conflicting reassignment. What the step
remembers between passes (the placement's broker count, the current move's targets and size)
lives in the cluster's status row; a pass never plans from metadata that does not yet show the
targets of the last move.

Afterwards, removed brokers still registered (fenced) in the KRaft metadata are unregistered
by a one-shot pod running Kafka's own tool (builders/unregister.py). Storage growth: while a
broker claim's capacity is below its request, the Operation says so and waits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from app.models import Cluster, Topic
from workers.adapters.kafka_admin import KafkaAdmin
from workers.adapters.kube import Obj
from workers.builders import cluster as build
from workers.builders import names, unregister
from workers.outcome import Failed, Outcome, RequeueAfter
from workers.planning import scaling
from workers.planning.topics import ConfigChange
from workers.reconcilers.context import Context

Progress = Callable[[str, int], None]


def _ordinal(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def live_broker_pods(ctx: Context, c: Cluster) -> int:
    """Replicas of the live broker StatefulSet (0 before it exists)."""
    live = ctx.kube.get("StatefulSet", names.BROKERS, names.namespace_of(c.uid))
    return int(live["spec"].get("replicas") or 0) if live is not None else 0


def pods_to_keep(ctx: Context, c: Cluster) -> int:
    """Broker pods the StatefulSet must keep: a scale-in keeps the old ones until this step
    has drained them and lowers the StatefulSet itself."""
    return max(c.broker_count, live_broker_pods(ctx, c))


def _managed_topics(ctx: Context, c: Cluster) -> set[str]:
    return set(
        ctx.session.scalars(
            select(Topic.topic_id).where(Topic.cluster_uid == c.uid, Topic.delete_time.is_(None))
        )
    )


def _throttle(
    ctx: Context,
    admin: KafkaAdmin,
    brokers: Sequence[int],
    topics: dict[str, tuple[str, str]],
) -> None:
    rate = str(ctx.settings.reassign_throttle_bytes)
    admin.alter_broker_configs(
        {b: ConfigChange(set=dict.fromkeys(scaling.THROTTLE_BROKER_KEYS, rate)) for b in brokers}
    )
    changes = {
        topic: ConfigChange(set=dict(zip(scaling.THROTTLE_TOPIC_KEYS, values, strict=True)))
        for topic, values in topics.items()
    }
    errors = admin.alter_topic_configs(changes)
    for topic, message in errors.items():
        ctx.log.warning("throttle of topic %s refused: %s", topic, message)


def _unthrottle(ctx: Context, admin: KafkaAdmin, c: Cluster, brokers: Sequence[int]) -> None:
    """Remove every throttle this step may have set (found on the brokers, not remembered)."""
    current = admin.broker_configs(brokers)
    admin.alter_broker_configs(
        {
            b: ConfigChange(delete=[k for k in scaling.THROTTLE_BROKER_KEYS if k in found])
            for b, found in current.items()
        }
    )
    managed = _managed_topics(ctx, c)
    described = admin.describe_topics(managed)
    admin.alter_topic_configs(
        {
            name: ConfigChange(delete=[k for k in scaling.THROTTLE_TOPIC_KEYS if k in t.configs])
            for name, t in described.items()
            if t is not None and any(k in t.configs for k in scaling.THROTTLE_TOPIC_KEYS)
        }
    )


def step(
    ctx: Context,
    c: Cluster,
    spec: build.ClusterSpec,
    opts: build.BuildOptions,
    bootstrap: str,
    broker_pods: Sequence[Obj],
    data: dict[str, Any],
    progress: Progress,
) -> Outcome | None:
    """None when placement matches `broker_count` (the cluster may be ACTIVE); otherwise the
    outcome of this pass (RequeueAfter while moving, Failed when the brokers cannot hold it)."""
    growing = _volumes_growing(ctx, c)
    if growing is not None:
        progress(growing, 50)
        return RequeueAfter(1.0, growing)
    keep = names.broker_ids(c.broker_count)
    live_pods = live_broker_pods(ctx, c)
    removed = [names.BROKER_ID_OFFSET + i for i in range(c.broker_count, live_pods)]
    lingering = sorted(
        names.BROKER_ID_OFFSET + _ordinal(p["metadata"]["name"])
        for p in broker_pods
        if _ordinal(p["metadata"]["name"]) >= c.broker_count
    )
    state: dict[str, Any] = dict(data.get("scaling") or {})
    placed_for = data.get("placement_brokers")
    if placed_for is None and not state and not removed:
        # A cluster from before placement was tracked: its placement is its broker count's.
        data["placement_brokers"] = placed_for = c.broker_count
    if placed_for == c.broker_count and not state and not removed and not lingering:
        return None  # the steady state: no Kafka or Kubernetes call at all

    password = names.admin_password(ctx.secret_key, c.uid)
    mover = ctx.reassigner(bootstrap, password)
    admin = ctx.admin(bootstrap, password)
    in_flight = mover.in_flight()
    if in_flight:
        total = max(int(state.get("partitions", 0)), len(in_flight))
        done = total - len(in_flight)
        pct = int(100 * done / total) if total else 0
        message = (
            f"moving partitions {_direction(state)}: {done} of {total} done ({pct}%), "
            f"{len(in_flight)} in flight"
        )
        state.setdefault("partitions", total)
        # Targets as Kafka reports them (the replicas not being removed), so that a pass after
        # a crash between submitting and recording still waits for metadata to show them.
        target_now = {
            f"{t}:{p}": [b for b in move.replicas if b not in move.removing]
            for (t, p), move in in_flight.items()
        }
        data["scaling"] = {
            **state,
            "target": {**target_now, **(state.get("target") or {})},
            "in_flight": len(in_flight),
        }
        progress(message, pct)
        return RequeueAfter(1.0, message)

    topology = mover.topology()
    # The metadata a broker serves may trail the controller's word that the moves are done;
    # while it shows a partition short of the target, its replica list may be the union of
    # old and new replicas, and planning from that would change replication factors.
    target: dict[str, list[int]] = state.get("target") or {}
    behind = [
        key
        for key, replicas in target.items()
        if set(topology.replicas.get(_partition(key), replicas)) != set(replicas)
    ]
    if behind:
        message = f"waiting for the brokers' metadata to show {len(behind)} moved partition(s)"
        progress(message, 90)
        return RequeueAfter(1.0, message)
    if target:
        data["scaling"] = state = {**state, "target": {}}
    problem = scaling.capacity_problem(topology.replicas, keep)
    if problem is not None:
        return Failed("SCALE_IN_BELOW_REPLICATION_FACTOR", problem)
    placement = scaling.plan(topology.replicas, keep)
    if not placement.empty:
        involved = sorted(set(keep) | set(removed))
        managed = _managed_topics(ctx, c) - topology.internal
        throttled = scaling.throttled_replicas(placement.moves, topology.replicas)
        _throttle(ctx, admin, involved, {t: v for t, v in throttled.items() if t in managed})
        refused = mover.reassign(placement.moves)
        if refused:
            first = next(iter(refused.items()))
            ctx.log.warning("reassignment of %d partition(s) refused: %s", len(refused), first)
        started = len(placement.moves) - len(refused)
        data["scaling"] = {
            "target": {
                f"{t}:{p}": list(r)
                for (t, p), r in placement.moves.items()
                if (t, p) not in refused
            },
            "brokers": c.broker_count,
            "from_brokers": int(placed_for) if placed_for is not None else live_pods,
            "partitions": started,
            "replicas": placement.replicas_moved,
            "in_flight": started,
        }
        message = (
            f"moving partitions {_direction(data['scaling'])}: 0 of {started} done (0%), "
            f"{placement.replicas_moved} replicas to copy"
        )
        progress(message, 0)
        return RequeueAfter(1.0 if not refused else 5.0, message)

    # Placed: throttles off, leaders back to their preferred replicas.
    if state and not state.get("placed"):
        _unthrottle(ctx, admin, c, sorted(set(keep) | set(removed)))
        mover.elect_preferred_leaders(None)
        data["scaling"] = state = {**state, "in_flight": 0, "placed": True}
    if removed:
        still = scaling.holding(topology.replicas, removed)
        logs = mover.log_dir_partitions(removed)
        if any(still.values()) or any(logs.values()):
            message = f"waiting for brokers {removed} to drop their logs: {logs}"
            progress(message, 95)
            return RequeueAfter(2.0, message)
        # Verified empty: now the pods may go.
        ctx.kube.apply(
            [
                m
                for m in build.manifests(spec, replace(opts, broker_pods=c.broker_count))
                if m["kind"] == "StatefulSet" and m["metadata"]["name"] == names.BROKERS
            ]
        )
        message = f"brokers {removed} hold no replica; stopping them"
        progress(message, 97)
        return RequeueAfter(1.0, message)
    if lingering:
        message = f"waiting for brokers {lingering} to stop"
        progress(message, 98)
        return RequeueAfter(1.0, message)
    stale = sorted(b for b in mover.registered_brokers() if b not in keep)
    if stale:
        message = _unregister(ctx, spec, opts, bootstrap, stale)
        progress(message, 99)
        return RequeueAfter(1.0, message)
    if ctx.kube.get("Pod", unregister.POD, names.namespace_of(c.uid)) is not None:
        ctx.kube.delete("Pod", unregister.POD, names.namespace_of(c.uid))
    _volumes(ctx, c)
    data["placement_brokers"] = c.broker_count
    data.pop("scaling", None)
    return None


def _partition(key: str) -> tuple[str, int]:
    topic, _, partition = key.rpartition(":")
    return topic, int(partition)


def _direction(state: dict[str, Any]) -> str:
    to, start = state.get("brokers"), state.get("from_brokers")
    return f"({start} -> {to} brokers)" if to and start else ""


_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "K": 10**3, "M": 10**6, "G": 10**9}


def _bytes(quantity: str) -> float:
    for suffix, factor in _UNITS.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity)


def _unregister(
    ctx: Context,
    spec: build.ClusterSpec,
    opts: build.BuildOptions,
    bootstrap: str,
    stale: list[int],
) -> str:
    """Removed brokers still registered (fenced) in the KRaft metadata: run Kafka's tool in a
    one-shot pod; a finished pod is deleted, and the next pass looks at the metadata again."""
    namespace = names.namespace_of(spec.uid)
    found = ctx.kube.get("Pod", unregister.POD, namespace)
    if found is None:
        ctx.kube.apply([unregister.pod(spec, opts, bootstrap, stale)])
        return f"unregistering removed brokers {stale} from the cluster metadata"
    phase = (found.get("status") or {}).get("phase") or "Pending"
    if phase in ("Succeeded", "Failed"):
        ctx.kube.delete("Pod", unregister.POD, namespace)
        if phase == "Failed":
            ctx.log.warning("unregistering brokers %s failed; trying again", stale)
        return f"unregistering removed brokers {stale}: the tool ended ({phase})"
    return f"unregistering removed brokers {stale}: the tool is {phase.lower()}"


def _volumes_growing(ctx: Context, c: Cluster) -> str | None:
    """While a broker claim's capacity is below its request (an expansion under way), what
    the Operation should say; None once every bound claim has its requested size."""
    namespace = names.namespace_of(c.uid)
    selector = f"{names.LABEL_CLUSTER_UID}={c.uid},{names.LABEL_POOL}=broker"
    claims = ctx.kube.list_objects("PersistentVolumeClaim", namespace, selector)
    sized = [
        (pvc["spec"]["resources"]["requests"]["storage"], capacity)
        for pvc in claims
        if (capacity := (pvc.get("status") or {}).get("capacity", {}).get("storage"))
    ]
    pending = [want for want, have in sized if _bytes(have) < _bytes(want)]
    if not pending:
        return None
    return (
        f"growing broker volumes to {pending[0]}: {len(sized) - len(pending)} of {len(sized)} done"
    )


def _volumes(ctx: Context, c: Cluster) -> None:
    """Claims of brokers beyond broker_count: deleted (policy `delete`) or kept (`retain`)."""
    if ctx.settings.scale_in_volumes != "delete":
        return
    namespace = names.namespace_of(c.uid)
    selector = f"{names.LABEL_CLUSTER_UID}={c.uid},{names.LABEL_POOL}=broker"
    for pvc in ctx.kube.list_objects("PersistentVolumeClaim", namespace, selector):
        name = pvc["metadata"]["name"]
        if name.startswith(f"data-{names.BROKERS}-") and _ordinal(name) >= c.broker_count:
            ctx.kube.delete("PersistentVolumeClaim", name, namespace)
