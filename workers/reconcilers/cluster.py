"""The cluster reconciler, a runbook of named steps (`STEPS`, whose names are the
Operation's steps):

namespace → secrets → config → services → disruption_budgets → network_policies →
statefulsets → prune → storage → roll (pods onto their StatefulSet's template, roller.py) →
pods (every pod Ready) →
health (brokers registered, a controller active) → broker_config (dynamic settings through
the Admin API) → placement (partitions follow broker_count, scaling.py) → active (status,
Operations finished) → dependents (topics, ACLs and users, the first time it is ready).

A step that stops the pass returns a `Wait`; the runbook loop then records the cluster's
status and the Operation's progress once. Deletion: refused while deletion_protection is on;
otherwise the namespace goes, and the cluster's rows go once Kubernetes says it is gone.
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
from workers.builders import cluster as build
from workers.builders import names
from workers.outcome import Failed, Outcome, Ready, RequeueAfter, TransientError
from workers.planning.topics import config_change
from workers.reconcilers import roller, runbook, scaling
from workers.reconcilers.cluster_state import Pass
from workers.reconcilers.context import Context
from workers.reconcilers.runbook import Wait
from workers.store import cluster as load_cluster

KIND = "cluster"


def _record(
    ctx: Context,
    c: Cluster,
    row: ResourceStatus | None,
    *,
    state: str,
    conditions: list[status.Condition],
    data: dict[str, Any],
    converged: bool = False,
) -> None:
    observed = status.Observed(
        uid=c.uid,
        kind=KIND,
        cluster_uid=c.uid,
        generation=c.generation,
        state=state,
        conditions=conditions,
        data=data,
        observed_generation=c.generation if converged else None,
    )
    status.record(ctx.session, [observed], {c.uid: row} if row is not None else {})
    if converged:
        ctx.session.flush()
        fresh = ctx.session.get(ResourceStatus, c.uid, populate_existing=True)
        observed.response = cluster_body(c, fresh)
        status.finish_operations(ctx.session, [observed])


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
        wait = Wait(2.0, "Deleting", f"deleting namespace {namespace}")
        steps, percent = runbook.progress(["namespace"], 0, wait)
        status.report_progress(ctx.session, c.uid, steps, percent, wait.message)
        return RequeueAfter(wait.seconds, "namespace terminating")
    brokers.forget(c.uid)
    uids = [c.uid]
    for model in (Topic, Acl, User):
        uids += list(ctx.session.scalars(select(model.uid).where(model.cluster_uid == c.uid)))
    status.finish_deleted(ctx.session, uids)
    ctx.session.execute(sql_delete(ResourceStatus).where(ResourceStatus.cluster_uid == c.uid))
    # Children's rows go with the cluster (ON DELETE CASCADE).
    ctx.session.execute(sql_delete(Cluster).where(Cluster.uid == c.uid))
    return Ready("deleted")


def reconcile(ctx: Context, cluster_uid: uuid.UUID) -> Outcome:
    found = load_cluster(ctx.session, cluster_uid)
    if found is None:
        return Ready("the cluster no longer exists")
    c, row = found
    gen = c.generation
    try:
        if c.delete_time is not None:
            return delete_cluster(ctx, c, row)
        p = Pass.start(ctx, c, row)
        return runbook.run(STEPS, p, lambda at, wait: _waiting(p, at, wait))
    except TransientError as exc:
        # We cannot tell how the cluster is: say so, keep the last-known data, delete nothing.
        _record(
            ctx,
            c,
            row,
            state=row.state if row is not None else "CREATING",
            conditions=[
                status.condition(t, None, "KubernetesUnavailable", str(exc), gen)
                for t in ("Ready", "ControllersReady", "BrokersReady")
            ],
            data=dict(row.data) if row is not None else {},
        )
        raise


# --- the runbook ----------------------------------------------------------------------------


def namespace(p: Pass) -> None:
    """The cluster's namespace (everything else lives in it and goes with it)."""
    p.ctx.kube.apply([build.namespace(p.spec)])


def secrets(p: Pass) -> None:
    """The Secret: the Kafka cluster id and the control plane's admin credential."""
    p.ctx.kube.apply(p.of_kind("Secret"))


def config(p: Pass) -> None:
    """The ConfigMap of the brokers' static settings (a change rolls them: see `roll`)."""
    p.ctx.kube.apply(p.of_kind("ConfigMap"))


def services(p: Pass) -> None:
    """The headless Services of both pools and the clients' bootstrap Service."""
    p.ctx.kube.apply(p.of_kind("Service"))


def disruption_budgets(p: Pass) -> None:
    """At most one pod of each pool voluntarily down at a time."""
    p.ctx.kube.apply(p.of_kind("PodDisruptionBudget"))


def network_policies(p: Pass) -> None:
    """What each pool's pods accept: the brokers' client port from anywhere, the rest only
    from the cluster's own nodes (see build.network_policies)."""
    p.ctx.kube.apply(p.of_kind("NetworkPolicy"))


def statefulsets(p: Pass) -> None:
    """The controller and broker StatefulSets (OnDelete: pods change only through `roll`)."""
    p.ctx.kube.apply(p.of_kind("StatefulSet"))


def prune(p: Pass) -> None:
    """Objects of the cluster that its manifests no longer name."""
    keep = [(m["kind"], m["metadata"]["name"]) for m in p.wanted]
    p.ctx.kube.prune(p.namespace, p.selector, keep)


def storage(p: Pass) -> None:
    """Grow each broker's claim to storage_gib (claims may grow, never shrink)."""
    want_gib = p.cluster.storage_gib
    selector = f"{p.selector},{names.LABEL_POOL}=broker"
    for pvc in p.ctx.kube.list_objects("PersistentVolumeClaim", p.namespace, selector):
        have = pvc["spec"]["resources"]["requests"]["storage"]
        if have.endswith("Gi") and int(have[:-2]) < want_gib:
            p.ctx.kube.patch_merge(
                "PersistentVolumeClaim",
                pvc["metadata"]["name"],
                p.namespace,
                {"spec": {"resources": {"requests": {"storage": f"{want_gib}Gi"}}}},
            )


def pods(p: Pass) -> Wait | None:
    """Wait until every controller and broker pod is Ready."""
    found, c = p.pods(), p.cluster
    if found.ready_controllers >= c.controller_count and found.ready_brokers >= c.broker_count:
        return None
    return Wait(1.0, "PodsNotReady", "waiting for the pods to be ready")


def health(p: Pass) -> Wait | None:
    """Every broker registered and a controller active, as the Admin API reports it."""
    ctx = p.ctx
    p.bootstrap = brokers.bootstrap_servers(ctx.kube, ctx.settings, p.cluster.uid)
    expected = set(names.broker_ids(p.cluster.broker_count))
    try:
        found = p.admin().describe_cluster()
    except TransientError as exc:
        brokers.forget(p.cluster.uid)
        return Wait(1.0, "BrokersNotHealthy", f"the Admin API did not answer: {exc}")
    missing = expected - found.node_ids
    if missing:
        return Wait(1.0, "BrokersNotHealthy", f"brokers {sorted(missing)} not registered")
    if found.controller_id is None:
        return Wait(1.0, "BrokersNotHealthy", "no active controller")
    p.health = "all brokers registered"
    return None


def broker_config(p: Pass) -> None:
    """Dynamic broker settings take effect now, on every broker, through the Admin API; the
    rest are in the ConfigMap and apply when a broker restarts (`roll`)."""
    admin = p.admin()
    dynamic = {
        k: v
        for k, v in p.cluster.config.items()
        if k in BROKER_CONFIGS and BROKER_CONFIGS[k].dynamic
    }
    current = admin.broker_configs(set(names.broker_ids(p.cluster.broker_count)))
    admin.alter_broker_configs(
        {
            node: config_change(dynamic, {k: v for k, v in found.items() if k in BROKER_CONFIGS})
            for node, found in current.items()
        }
    )


def active(p: Pass) -> None:
    """The cluster is ACTIVE at this generation: record it, finish its Operations."""
    c = p.cluster
    p.data.bootstrap_servers = p.bootstrap
    versions = {b["kafka_version"] for b in p.data.brokers or []}
    p.data.running_kafka_version = versions.pop() if len(versions) == 1 else ""
    ready = status.condition("Ready", True, "ClusterReady", p.health, c.generation)
    _record(
        p.ctx,
        c,
        p.row,
        state="ACTIVE",
        conditions=[ready, *p.pod_conditions(), *p.conditions],
        data=p.data.dump(),
        converged=True,
    )


def dependents(p: Pass) -> None:
    """The first time the cluster is ready, its topics, ACLs and users converge too."""
    if not p.was_ready:
        for task in ("topics.reconcile", "acls.reconcile", "users.reconcile"):
            p.ctx.enqueue(task, str(p.cluster.uid))


STEPS: list[runbook.Step[Pass]] = [
    namespace,
    secrets,
    config,
    services,
    disruption_budgets,
    network_policies,
    statefulsets,
    prune,
    storage,
    roller.roll,
    pods,
    health,
    broker_config,
    scaling.placement,
    active,
    dependents,
]
STEP_NAMES = [runbook.name_of(s) for s in STEPS]


def _waiting(p: Pass, at: int, wait: Wait) -> None:
    """A pass stopped at step `at`: the cluster's status and the Operation's progress, once."""
    c = p.cluster
    ready = status.condition("Ready", False, wait.reason, wait.message, c.generation)
    _record(
        p.ctx,
        c,
        p.row,
        state="CREATING" if p.first_time else "UPDATING",
        conditions=[ready, *p.pod_conditions(), *p.conditions],
        data=p.data.dump(),
    )
    steps, percent = runbook.progress(STEP_NAMES, at, wait)
    status.report_progress(p.ctx.session, c.uid, steps, percent, wait.message)
