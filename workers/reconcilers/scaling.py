"""The cluster reconciler's placement step: partitions follow `broker_count`.

Scale-out: the StatefulSet grows first (the statefulsets step); once the new brokers are
registered, this step reassigns partitions onto them. Scale-in: the StatefulSet keeps its
pods while every replica on the brokers being removed moves away; once Kafka lists no replica
and the brokers' log directories hold no partition there, the StatefulSet shrinks, the pods
stop, and their volumes are deleted or kept by the worker's policy. Both move under a
replication throttle (broker `*.replication.throttled.rate`, topic
`*.replication.throttled.replicas` on the topics kplane manages — the configs of internal and
unmanaged topics are never touched, their replicas move unthrottled), removed once placement
is done. The cluster is ACTIVE (and its Operation done) only then.

Level-triggered: every pass starts from what Kafka reports. Reassignments in flight
(ListPartitionReassignments) are waited for by requeue, never re-planned, so a worker that
crashed mid-move resumes without starting a second, conflicting reassignment. What the step
remembers between passes (the placement's broker count, the current `Move`: its targets and
size) lives in the cluster's status data (`ClusterData`); a pass never plans from metadata
that does not yet show the targets of the last move.

Afterwards, removed brokers still registered (fenced) in the KRaft metadata are unregistered
by a one-shot pod running Kafka's own tool (builders/unregister.py). Storage growth: while a
broker claim's capacity is below its request, the Operation says so and waits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import select

from app.models import Cluster, Topic
from workers.adapters.kafka_admin import KafkaAdmin
from workers.adapters.reassign import InFlight, Reassigner, Topology
from workers.builders import cluster as build
from workers.builders import names, unregister
from workers.outcome import Failed
from workers.planning import scaling
from workers.planning.topics import ConfigChange
from workers.reconcilers.cluster_state import Move, Pass, live_broker_pods, ordinal
from workers.reconcilers.context import Context
from workers.reconcilers.runbook import Wait


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


def _moving(seconds: float, message: str, percent: int) -> Wait:
    return Wait(seconds, "MovingPartitions", message, percent=percent)


def placement(p: Pass) -> Wait | Failed | None:
    """None when placement matches `broker_count` (the cluster may be ACTIVE); otherwise a
    Wait while partitions move or brokers go, Failed when the brokers cannot hold them."""
    ctx, c, d = p.ctx, p.cluster, p.data
    growing = _volumes_growing(ctx, c)
    if growing is not None:
        return _moving(1.0, growing, 50)
    keep = names.broker_ids(c.broker_count)
    live_pods = live_broker_pods(ctx, c)
    removed = [names.BROKER_ID_OFFSET + i for i in range(c.broker_count, live_pods)]
    lingering = sorted(
        names.BROKER_ID_OFFSET + ordinal(pod["metadata"]["name"])
        for pod in p.pods().brokers
        if ordinal(pod["metadata"]["name"]) >= c.broker_count
    )
    move = d.scaling
    if d.placement_brokers is None and move is None and not removed:
        # A cluster from before placement was tracked: its placement is its broker count's.
        d.placement_brokers = c.broker_count
    placed_for = d.placement_brokers
    if placed_for == c.broker_count and move is None and not removed and not lingering:
        return None  # the steady state: no Kafka or Kubernetes call at all

    mover = ctx.reassigner(p.bootstrap, p.password)
    in_flight = mover.in_flight()
    if in_flight:
        return _in_flight(p, move or Move(), in_flight)

    topology = mover.topology()
    # The metadata a broker serves may trail the controller's word that the moves are done;
    # while it shows a partition short of the target, its replica list may be the union of
    # old and new replicas, and planning from that would change replication factors.
    target = move.target if move is not None else {}
    behind = [
        key
        for key, replicas in target.items()
        if set(topology.replicas.get(_partition(key), replicas)) != set(replicas)
    ]
    if behind:
        message = f"waiting for the brokers' metadata to show {len(behind)} moved partition(s)"
        return _moving(1.0, message, 90)
    if move is not None:
        move.target = {}
    problem = scaling.capacity_problem(topology.replicas, keep)
    if problem is not None:
        return Failed("SCALE_IN_BELOW_REPLICATION_FACTOR", problem)
    planned = scaling.plan(topology.replicas, keep)
    if not planned.empty:
        return _start_moves(p, mover, planned, topology, removed, live_pods)

    # Placed: throttles off, leaders back to their preferred replicas.
    if move is not None and not move.placed:
        _unthrottle(ctx, p.admin(), c, sorted(set(keep) | set(removed)))
        mover.elect_preferred_leaders(None)
        move.in_flight, move.placed = 0, True
    if removed:
        return _stop_removed(p, mover, topology, removed)
    if lingering:
        return _moving(1.0, f"waiting for brokers {lingering} to stop", 98)
    stale = sorted(b for b in mover.registered_brokers() if b not in keep)
    if stale:
        return _moving(1.0, _unregister(ctx, p.spec, p.opts, p.bootstrap, stale), 99)
    if ctx.kube.get("Pod", unregister.POD, p.namespace) is not None:
        ctx.kube.delete("Pod", unregister.POD, p.namespace)
    _volumes(ctx, c)
    d.placement_brokers = c.broker_count
    d.scaling = None
    return None


def _in_flight(p: Pass, move: Move, in_flight: dict[tuple[str, int], InFlight]) -> Wait:
    """Reassignments in flight (ours, or a crashed worker's): wait for them, plan nothing."""
    total = max(move.partitions or 0, len(in_flight))
    done = total - len(in_flight)
    pct = int(100 * done / total) if total else 0
    message = (
        f"moving partitions {move.direction}: {done} of {total} done ({pct}%), "
        f"{len(in_flight)} in flight"
    )
    if move.partitions is None:
        move.partitions = total
    # Targets as Kafka reports them (the replicas not being removed), so that a pass after a
    # crash between submitting and recording still waits for metadata to show them.
    target_now = {
        f"{t}:{n}": [b for b in m.replicas if b not in m.removing]
        for (t, n), m in in_flight.items()
    }
    move.target = {**target_now, **move.target}
    move.in_flight = len(in_flight)
    p.data.scaling = move
    return _moving(1.0, message, pct)


def _start_moves(
    p: Pass,
    mover: Reassigner,
    planned: scaling.Placement,
    topology: Topology,
    removed: list[int],
    live_pods: int,
) -> Wait:
    """Throttle, submit the reassignment and remember its targets."""
    ctx, c = p.ctx, p.cluster
    involved = sorted(set(names.broker_ids(c.broker_count)) | set(removed))
    managed = _managed_topics(ctx, c) - topology.internal
    throttled = scaling.throttled_replicas(planned.moves, topology.replicas)
    _throttle(ctx, p.admin(), involved, {t: v for t, v in throttled.items() if t in managed})
    refused = mover.reassign(planned.moves)
    if refused:
        first = next(iter(refused.items()))
        ctx.log.warning("reassignment of %d partition(s) refused: %s", len(refused), first)
    started = len(planned.moves) - len(refused)
    placed_for = p.data.placement_brokers
    p.data.scaling = move = Move(
        target={
            f"{t}:{n}": list(r) for (t, n), r in planned.moves.items() if (t, n) not in refused
        },
        brokers=c.broker_count,
        from_brokers=placed_for if placed_for is not None else live_pods,
        partitions=started,
        replicas=planned.replicas_moved,
        in_flight=started,
    )
    message = (
        f"moving partitions {move.direction}: 0 of {started} done (0%), "
        f"{planned.replicas_moved} replicas to copy"
    )
    return _moving(1.0 if not refused else 5.0, message, 0)


def _stop_removed(p: Pass, mover: Reassigner, topology: Topology, removed: list[int]) -> Wait:
    """Brokers being removed: once Kafka and their log directories show them empty, lower the
    StatefulSet (their pods stop)."""
    still = scaling.holding(topology.replicas, removed)
    logs = mover.log_dir_partitions(removed)
    if any(still.values()) or any(logs.values()):
        return _moving(2.0, f"waiting for brokers {removed} to drop their logs: {logs}", 95)
    # Verified empty: now the pods may go.
    p.ctx.kube.apply(
        [
            m
            for m in build.manifests(p.spec, replace(p.opts, broker_pods=p.cluster.broker_count))
            if m["kind"] == "StatefulSet" and m["metadata"]["name"] == names.BROKERS
        ]
    )
    return _moving(1.0, f"brokers {removed} hold no replica; stopping them", 97)


def _partition(key: str) -> tuple[str, int]:
    topic, _, partition = key.rpartition(":")
    return topic, int(partition)


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
        if name.startswith(f"data-{names.BROKERS}-") and ordinal(name) >= c.broker_count:
            ctx.kube.delete("PersistentVolumeClaim", name, namespace)
