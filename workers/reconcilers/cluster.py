"""The cluster reconciler, a runbook of named steps:

namespace → secret → broker config → services → pod disruption budgets → statefulsets →
prune → storage → pods ready (else RequeueAfter) → broker health through the Admin API →
dependent reconciles → status. Deletion: refused while deletion_protection is on; otherwise
the namespace goes, and the cluster's rows go once Kubernetes says the namespace is gone.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select

from app.clusters.views import body as cluster_body
from app.core.kafka_config import BROKER_CONFIGS
from app.models import Acl, Cluster, ResourceStatus, Topic, User
from workers import status
from workers.adapters import brokers
from workers.adapters.kube import Obj
from workers.builders import cluster as build
from workers.builders import names
from workers.outcome import Failed, Outcome, Ready, RequeueAfter, TransientError
from workers.planning.topics import config_change
from workers.reconcilers import roller, scaling
from workers.reconcilers.context import Context
from workers.store import cluster as load_cluster

KIND = "cluster"
STEPS = ("namespace", "objects", "storage", "pods", "health", "partitions", "status")


def spec_of(c: Cluster) -> build.ClusterSpec:
    resources = c.broker_resources or {}
    return build.ClusterSpec(
        uid=c.uid,
        project_id=c.project_id,
        cluster_id=c.cluster_id,
        kafka_version=c.kafka_version,
        broker_count=c.broker_count,
        controller_count=c.controller_count,
        cpu=float(resources.get("cpu", 1.0)),
        memory_gib=float(resources.get("memory_gib", 2.0)),
        storage_gib=c.storage_gib,
        config=dict(c.config),
    )


def _steps(done: int, message: str) -> list[dict[str, str]]:
    out = []
    for i, name in enumerate(STEPS):
        state = "DONE" if i < done else ("RUNNING" if i == done else "PENDING")
        out.append({"name": name, "state": state, "message": message if i == done else ""})
    return out


def _progress(ctx: Context, c: Cluster, done: int, message: str) -> None:
    status.report_progress(
        ctx.session, c.uid, _steps(done, message), int(100 * done / len(STEPS)), message
    )


def _record(
    ctx: Context,
    c: Cluster,
    row: ResourceStatus | None,
    *,
    state: str,
    conditions: list[status.Condition],
    data: dict[str, Any] | None = None,
    converged: bool = False,
) -> None:
    observed = status.Observed(
        uid=c.uid,
        kind=KIND,
        cluster_uid=c.uid,
        generation=c.generation,
        state=state,
        conditions=conditions,
        data=data if data is not None else dict(row.data if row is not None else {}),
        observed_generation=c.generation if converged else None,
    )
    status.record(ctx.session, [observed], {c.uid: row} if row is not None else {})
    if converged:
        ctx.session.flush()
        fresh = ctx.session.get(ResourceStatus, c.uid, populate_existing=True)
        observed.response = cluster_body(c, fresh)
        status.finish_operations(ctx.session, [observed])


def _pods_by_pool(pods: list[Obj]) -> dict[str, list[Obj]]:
    out: dict[str, list[Obj]] = {"controller": [], "broker": []}
    for pod in pods:
        pool = pod["metadata"].get("labels", {}).get(names.LABEL_POOL)
        if pool in out:
            out[pool].append(pod)
    return out


def _ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in pod.get("status", {}).get("conditions", [])
    )


def _ordinal(pod: Obj) -> int:
    return int(pod["metadata"]["name"].rsplit("-", 1)[1])


def _image_version(pod: Obj) -> str:
    image: str = pod["spec"]["containers"][0]["image"]
    return image.rsplit(":", 1)[-1].split("-", 1)[0]


def delete_cluster(ctx: Context, c: Cluster, row: ResourceStatus | None) -> Outcome:
    """Tear the namespace down; the rows go when Kubernetes reports it gone."""
    if c.deletion_protection:
        return Failed("DELETION_PROTECTED", "deletion_protection is on; turn it off first")
    namespace = names.namespace_of(c.uid)
    if ctx.kube.get("Namespace", namespace) is not None:
        # The data goes with the namespace, so a graceful broker shutdown buys nothing: stop
        # the StatefulSets from recreating pods, then remove the pods at once.
        selector = f"{names.LABEL_CLUSTER_UID}={c.uid}"
        for sts in ctx.kube.list_objects("StatefulSet", namespace, selector):
            ctx.kube.delete("StatefulSet", sts["metadata"]["name"], namespace)
        for pod in ctx.kube.list_objects("Pod", namespace, selector):
            ctx.kube.delete("Pod", pod["metadata"]["name"], namespace, grace_seconds=0)
        ctx.kube.delete("Namespace", namespace)
        _progress(ctx, c, 0, f"deleting namespace {namespace}")
        return RequeueAfter(2.0, "namespace terminating")
    brokers.forget(c.uid)
    uids = [c.uid]
    for model in (Topic, Acl, User):
        uids += list(ctx.session.scalars(select(model.uid).where(model.cluster_uid == c.uid)))
    status.finish_deleted(ctx.session, uids)
    ctx.session.execute(sql_delete(ResourceStatus).where(ResourceStatus.cluster_uid == c.uid))
    # Children's rows go with the cluster (ON DELETE CASCADE).
    ctx.session.execute(sql_delete(Cluster).where(Cluster.uid == c.uid))
    return Ready("deleted")


def _storage(ctx: Context, c: Cluster) -> None:
    """Grow each broker's claim to storage_gib (claims may grow, never shrink)."""
    namespace = names.namespace_of(c.uid)
    selector = f"{names.LABEL_CLUSTER_UID}={c.uid},{names.LABEL_POOL}=broker"
    for pvc in ctx.kube.list_objects("PersistentVolumeClaim", namespace, selector):
        want = f"{c.storage_gib}Gi"
        have = pvc["spec"]["resources"]["requests"]["storage"]
        if have.endswith("Gi") and int(have[:-2]) < c.storage_gib:
            ctx.kube.patch_merge(
                "PersistentVolumeClaim",
                pvc["metadata"]["name"],
                namespace,
                {"spec": {"resources": {"requests": {"storage": want}}}},
            )


def _claim_template_gib(ctx: Context, namespace: str) -> int | None:
    live = ctx.kube.get("StatefulSet", names.BROKERS, namespace)
    if live is None:
        return None
    templates = live["spec"].get("volumeClaimTemplates") or []
    size = str(templates[0]["spec"]["resources"]["requests"]["storage"]) if templates else ""
    return int(size[:-2]) if size.endswith("Gi") else None


def reconcile(ctx: Context, cluster_uid: uuid.UUID) -> Outcome:
    found = load_cluster(ctx.session, cluster_uid)
    if found is None:
        return Ready("the cluster no longer exists")
    c, row = found
    gen = c.generation
    try:
        if c.delete_time is not None:
            return delete_cluster(ctx, c, row)
        return _converge(ctx, c, row)
    except TransientError as exc:
        # We cannot tell how the cluster is: say so, keep the last-known data, delete nothing.
        _record(
            ctx,
            c,
            row,
            state=row.state if row is not None else "CREATING",
            conditions=[
                status.condition("Ready", None, "KubernetesUnavailable", str(exc), gen),
                *[
                    status.condition(t, None, "KubernetesUnavailable", str(exc), gen)
                    for t in ("ControllersReady", "BrokersReady")
                ],
            ],
        )
        raise


def _converge(ctx: Context, c: Cluster, row: ResourceStatus | None) -> Outcome:
    gen = c.generation
    namespace = names.namespace_of(c.uid)
    spec = spec_of(c)
    # step: namespace
    _progress(ctx, c, 0, "namespace")
    ctx.kube.apply([build.namespace(spec)])
    # step: objects (secret, config, services, PDBs, statefulsets) and prune
    _progress(ctx, c, 1, "applying the cluster's objects")
    opts = build.BuildOptions(
        admin_password=names.admin_password(ctx.secret_key, c.uid),
        image=ctx.settings.broker_image,
        image_build=ctx.settings.broker_image_build,
        dynamic_settings=frozenset(k for k, v in BROKER_CONFIGS.items() if v.dynamic),
        jvm_profile=ctx.settings.jvm_profile,
        controller_memory_mib=ctx.settings.controller_memory_mib,
        controller_storage_gib=ctx.settings.controller_storage_gib,
        claim_template_gib=_claim_template_gib(ctx, namespace),
        broker_pods=scaling.pods_to_keep(ctx, c),
    )
    wanted = build.manifests(spec, opts)
    ctx.kube.apply(wanted)
    ctx.kube.prune(
        namespace,
        f"{names.LABEL_CLUSTER_UID}={c.uid}",
        [(m["kind"], m["metadata"]["name"]) for m in wanted],
    )
    # step: storage
    _progress(ctx, c, 2, "storage")
    _storage(ctx, c)
    # step: pods
    _progress(ctx, c, 3, "waiting for the pods to be ready")
    pods = _pods_by_pool(
        ctx.kube.list_objects("Pod", namespace, f"{names.LABEL_CLUSTER_UID}={c.uid}")
    )
    ready_controllers = sum(1 for p in pods["controller"] if _ready(p))
    ready_brokers = sum(1 for p in pods["broker"] if _ready(p))
    controllers_ok = ready_controllers >= c.controller_count
    brokers_ok = ready_brokers >= c.broker_count
    broker_list = [
        {
            "node_id": names.BROKER_ID_OFFSET + _ordinal(p),
            "state": "RUNNING" if _ready(p) else "STARTING",
            "kafka_version": _image_version(p),
            "ready": _ready(p),
        }
        for p in sorted(pods["broker"], key=_ordinal)
    ]
    data = dict(row.data) if row is not None else {}
    data["brokers"] = broker_list
    conditions = [
        status.condition(
            "ControllersReady",
            controllers_ok,
            "PodsReady" if controllers_ok else "PodsNotReady",
            f"{ready_controllers}/{c.controller_count} controller pods ready",
            gen,
        ),
        status.condition(
            "BrokersReady",
            brokers_ok,
            "PodsReady" if brokers_ok else "PodsNotReady",
            f"{ready_brokers}/{c.broker_count} broker pods ready",
            gen,
        ),
    ]
    first_time = row is None or row.observed_generation == 0
    # step: roll (pods onto their StatefulSet's current template, one at a time: roller.py)
    rolled = roller.roll(ctx, c, pods, data)
    conditions.append(rolled.condition)
    if rolled.outcome is not None:
        ready = status.condition("Ready", False, "Rolling", rolled.message, gen)
        state = "CREATING" if first_time else "UPDATING"
        _record(ctx, c, row, state=state, conditions=[ready, *conditions], data=data)
        return rolled.outcome
    if not (controllers_ok and brokers_ok):
        _record(
            ctx,
            c,
            row,
            state="CREATING" if first_time else "UPDATING",
            conditions=[
                status.condition("Ready", False, "PodsNotReady", "waiting for pods", gen),
                *conditions,
            ],
            data=data,
        )
        return RequeueAfter(1.0, "pods not ready")
    # step: health through the Admin API
    _progress(ctx, c, 4, "checking the brokers through the Admin API")
    bootstrap = brokers.bootstrap_servers(ctx.kube, ctx.settings, c.uid)
    expected = set(names.broker_ids(c.broker_count))
    try:
        health = ctx.admin(
            bootstrap, names.admin_password(ctx.secret_key, c.uid)
        ).describe_cluster()
        missing = expected - health.node_ids
        healthy = not missing and health.controller_id is not None
        why = (
            f"brokers {sorted(missing)} not registered"
            if missing
            else (
                "no active controller" if health.controller_id is None else "all brokers registered"
            )
        )
    except TransientError as exc:
        brokers.forget(c.uid)
        healthy, why = False, f"the Admin API did not answer: {exc}"
    if not healthy:
        _record(
            ctx,
            c,
            row,
            state="CREATING" if first_time else "UPDATING",
            conditions=[
                status.condition("Ready", False, "BrokersNotHealthy", why, gen),
                *conditions,
            ],
            data=data,
        )
        return RequeueAfter(1.0, why)
    # Dynamic broker settings take effect now, on every broker, through the Admin API; the rest
    # are in the ConfigMap and apply when a broker restarts (rolling restarts: a later roller).
    admin = ctx.admin(bootstrap, names.admin_password(ctx.secret_key, c.uid))
    dynamic = {
        k: v for k, v in c.config.items() if k in BROKER_CONFIGS and BROKER_CONFIGS[k].dynamic
    }
    current = admin.broker_configs(expected)
    admin.alter_broker_configs(
        {
            node: config_change(dynamic, {k: v for k, v in found.items() if k in BROKER_CONFIGS})
            for node, found in current.items()
        }
    )
    # step: partitions (placement follows broker_count: scale-out, drain before scale-in)
    _progress(ctx, c, 5, "checking partition placement")
    moving = scaling.step(
        ctx,
        c,
        spec,
        opts,
        bootstrap,
        pods["broker"],
        data,
        lambda m, pct: status.report_progress(ctx.session, c.uid, _steps(5, m), pct, m),
    )
    if moving is not None:
        if isinstance(moving, RequeueAfter):
            ready = status.condition("Ready", False, "MovingPartitions", moving.reason, gen)
            _record(ctx, c, row, state="UPDATING", conditions=[ready, *conditions], data=data)
        return moving
    # step: status (and the dependents, the first time the cluster is ready)
    _progress(ctx, c, 6, "recording status")
    data["bootstrap_servers"] = bootstrap
    versions = {b["kafka_version"] for b in broker_list}
    data["running_kafka_version"] = versions.pop() if len(versions) == 1 else ""
    was_ready = row is not None and any(
        cond.get("type") == "Ready" and cond.get("status") == "True" for cond in row.conditions
    )
    _record(
        ctx,
        c,
        row,
        state="ACTIVE",
        conditions=[
            status.condition("Ready", True, "ClusterReady", why, gen),
            *conditions,
        ],
        data=data,
        converged=True,
    )
    if not was_ready:
        for task in ("topics.reconcile", "acls.reconcile", "users.reconcile"):
            ctx.enqueue(task, str(c.uid))
    return Ready()
