"""Rules of clusters: defaults, validation, which changes are allowed, and the Operation and
reconcile message that every accepted change produces. Never commits."""

from __future__ import annotations

import uuid
from typing import Any

from app.clusters import repository
from app.clusters.schemas import BrokerResources, ClusterIn
from app.clusters.views import body, name_of
from app.core.errors import FieldViolation, aborted, already_exists, failed_precondition, not_found
from app.core.ids import resource_id_violations
from app.core.kafka_config import BROKER_CONFIGS, config_violations, kafka_versions
from app.core.pools import Connection
from app.core.resource import immutable_violation, label_violations, raise_if
from app.core.unit import Unit, apply_changes
from app.models import Cluster, Operation, Project, ResourceStatus
from app.models.base import utcnow
from app.operations import service as operations
from app.projects import service as projects

KIND = "cluster"


def desired(c: Cluster) -> dict[str, Any]:
    """The fields whose change is a new generation (labels are metadata, not desired state)."""
    return {
        "kafka_version": c.kafka_version,
        "broker_count": c.broker_count,
        "controller_count": c.controller_count,
        "broker_resources": c.broker_resources,
        "storage_gib": c.storage_gib,
        "config": c.config,
        "maintenance_window": c.maintenance_window,
        "deletion_protection": c.deletion_protection,
    }


def _version_violations(value: str) -> list[FieldViolation]:
    versions = kafka_versions().versions
    if value not in versions:
        return [FieldViolation("kafka_version", f"must be one of {', '.join(versions)}")]
    return []


def _values(body_in: ClusterIn) -> dict[str, Any]:
    """The request's values with server defaults filled in, as stored."""
    versions = kafka_versions()
    broker_count = body_in.broker_count if body_in.broker_count is not None else 3
    resources = body_in.broker_resources or BrokerResources()
    return {
        "kafka_version": body_in.kafka_version or versions.default,
        "broker_count": broker_count,
        "controller_count": body_in.controller_count
        if body_in.controller_count is not None
        else (1 if broker_count == 1 else 3),
        "broker_resources": resources.model_dump(),
        "storage_gib": body_in.storage_gib if body_in.storage_gib is not None else 100,
        "config": dict(body_in.config),
        "maintenance_window": body_in.maintenance_window.model_dump()
        if body_in.maintenance_window
        else None,
        "deletion_protection": body_in.deletion_protection,
        "labels": dict(body_in.labels),
    }


def _validate(values: dict[str, Any]) -> list[FieldViolation]:
    return (
        _version_violations(values["kafka_version"])
        + config_violations("config", values["config"], BROKER_CONFIGS)
        + label_violations(values["labels"])
    )


def _start(
    unit: Unit,
    c: Cluster,
    verb: str,
    request_id: str,
    finished: dict[str, Any] | None = None,
) -> Operation:
    return operations.start_reconcile(
        unit,
        c,
        kind=KIND,
        target=name_of(c.project_id, c.cluster_id),
        cluster_uid=c.uid,
        verb=verb,
        task="clusters.reconcile",
        request_id=request_id,
        finished=finished,
    )


async def get(
    connection: Connection, project_id: str, cluster_id: str
) -> tuple[Cluster, ResourceStatus | None]:
    found = await repository.get(connection, project_id, cluster_id)
    if found is None:
        raise not_found(KIND, name_of(project_id, cluster_id))
    return found


def live(
    found: tuple[Cluster, ResourceStatus | None] | None, project_id: str, cluster_id: str
) -> tuple[Cluster, ResourceStatus | None]:
    """`found`, refusing a missing cluster and one being deleted (nothing new may start in it)."""
    if found is None:
        raise not_found(KIND, name_of(project_id, cluster_id))
    if found[0].delete_time is not None:
        raise aborted("CLUSTER_DELETING", f"{name_of(project_id, cluster_id)} is being deleted")
    return found


async def parent(unit: Unit, project_id: str, cluster_id: str) -> Cluster:
    """The cluster a change inside it (a topic, an acl, a user) relies on: live, and held at the
    version read, so that the change is not written if the cluster changed meanwhile."""
    cluster, _ = live(
        await repository.get(unit.connection, project_id, cluster_id), project_id, cluster_id
    )
    unit.hold(Cluster, cluster)
    return cluster


async def create(
    unit: Unit, project_id: str, cluster_id: str, body_in: ClusterIn, request_id: str
) -> Operation:
    values = _values(body_in)
    raise_if(resource_id_violations("cluster_id", cluster_id) + _validate(values))
    project = await projects.get_project(unit.connection, project_id)
    unit.hold(Project, project, live=False)

    async def explain() -> Exception:
        return already_exists(KIND, name_of(project_id, cluster_id))

    # An existing cluster of this id is refused by the write's unique index (no read before it).
    unit.on_conflict(explain)
    now = utcnow()
    cluster = unit.add(
        Cluster,
        uid=uuid.uuid4(),
        project_id=project_id,
        cluster_id=cluster_id,
        generation=1,
        version=1,
        create_time=now,
        update_time=now,
        delete_time=None,
        **values,
    )
    return _start(unit, cluster, "create", request_id)


async def update(
    unit: Unit,
    cluster: Cluster,
    status: ResourceStatus | None,
    body_in: ClusterIn,
    fields: set[str],
    request_id: str,
) -> Operation:
    """A change of the cluster, read with `repository.lock` (a scale-in's check reads its
    topics, which must not gain a larger replication factor meanwhile)."""
    values = _values(body_in)
    new = {f: values[f] for f in fields}
    violations = _validate({**_current(cluster), **new})
    if "controller_count" in new:
        violations += immutable_violation(
            "controller_count", cluster.controller_count, new["controller_count"]
        )
    if "storage_gib" in new and new["storage_gib"] < cluster.storage_gib:
        violations.append(FieldViolation("storage_gib", "may only grow"))
    raise_if(violations)
    if "kafka_version" in new and new["kafka_version"] != cluster.kafka_version:
        _check_version_change(cluster, status, new["kafka_version"])
    if "broker_count" in new and new["broker_count"] < cluster.broker_count:
        needed = await repository.max_replication_factor(unit.connection, cluster.uid)
        # Kafka's internal topics (__consumer_offsets, __transaction_state) are created with
        # replication factor min(3, brokers) of the running cluster, and must keep it.
        internal = min(3, cluster.broker_count)
        if new["broker_count"] < max(needed, internal):
            what = (
                f"a topic has replication_factor {needed}"
                if needed >= internal
                else f"internal topics such as __consumer_offsets have replication factor "
                f"{internal}"
            )
            raise failed_precondition(
                "SCALE_IN_BELOW_REPLICATION_FACTOR",
                f"{what}; the cluster needs at least {max(needed, internal)} brokers",
                "broker_count",
            )
    if apply_changes(unit, Cluster, cluster, new, desired):
        return _start(unit, cluster, "update", request_id)
    return _start(unit, cluster, "update", request_id, finished=body(cluster, status))


def _check_version_change(cluster: Cluster, status: ResourceStatus | None, target: str) -> None:
    """Upgrades follow /v1/kafka_versions' `upgradable_to`. Going back is allowed only while
    the upgrade has not finalized metadata.version (the workers record when it has): after
    that the metadata log holds records the older release cannot read."""
    versions = kafka_versions().versions
    allowed = versions[cluster.kafka_version].upgradable_to
    if target in allowed:
        return
    finalized_for = (status.data if status is not None else {}).get(
        "metadata_version_finalized_for"
    )
    rolling_back = cluster.kafka_version in versions[target].upgradable_to
    if rolling_back and finalized_for not in (None, cluster.kafka_version):
        return
    if rolling_back:
        message = (
            f"kafka_version {cluster.kafka_version} cannot go back to {target}: the cluster's "
            "metadata.version is finalized (or not known to be otherwise), and a downgrade "
            "after that is not supported"
        )
    else:
        message = (
            f"kafka_version {cluster.kafka_version} can change only to: "
            f"{', '.join(allowed) or 'nothing'} (see /v1/kafka_versions)"
        )
    raise failed_precondition("UNSUPPORTED_VERSION_CHANGE", message, "kafka_version")


def _current(c: Cluster) -> dict[str, Any]:
    return {**desired(c), "labels": c.labels}


async def delete(unit: Unit, cluster: Cluster, request_id: str) -> Operation:
    if cluster.deletion_protection:
        raise failed_precondition(
            "DELETION_PROTECTED",
            f"{name_of(cluster.project_id, cluster.cluster_id)} has deletion_protection on; "
            "turn it off first",
            "deletion_protection",
        )
    return await operations.request_delete(
        unit, Cluster, cluster, lambda: _start(unit, cluster, "delete", request_id)
    )
