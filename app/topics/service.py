"""Rules of topics: Kafka's naming rules, allow-listed configs, replication factor within the
cluster's brokers, partitions that only grow. Never commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from app.clusters import service as clusters
from app.core.errors import ApiError, FieldViolation, already_exists, not_found
from app.core.ids import topic_collision_key, topic_name_violations
from app.core.kafka_config import TOPIC_CONFIGS, config_violations
from app.core.pools import Connection
from app.core.resource import immutable_violation, label_violations, raise_if
from app.core.unit import Unit, apply_changes
from app.models import Cluster, Operation, ResourceStatus, Topic
from app.models.base import utcnow
from app.operations import service as operations
from app.topics import repository
from app.topics.schemas import TopicIn
from app.topics.views import body, collection_of, name_of

KIND = "topic"


def _desired(t: Topic) -> dict[str, Any]:
    return {
        "partition_count": t.partition_count,
        "replication_factor": t.replication_factor,
        "configs": t.configs,
    }


def _values(body_in: TopicIn, cluster: Cluster) -> dict[str, Any]:
    return {
        "partition_count": body_in.partition_count or 1,
        "replication_factor": body_in.replication_factor or min(3, cluster.broker_count),
        "configs": dict(body_in.configs),
        "labels": dict(body_in.labels),
    }


def _validate(values: dict[str, Any], cluster: Cluster) -> list[FieldViolation]:
    violations = config_violations("configs", values["configs"], TOPIC_CONFIGS)
    violations += label_violations(values["labels"])
    rf = values["replication_factor"]
    if rf > cluster.broker_count:
        violations.append(
            FieldViolation(
                "replication_factor",
                f"must be at most the cluster's broker_count ({cluster.broker_count})",
            )
        )
    min_isr = values["configs"].get("min.insync.replicas")
    if isinstance(min_isr, str) and min_isr.isdigit() and int(min_isr) > rf:
        violations.append(
            FieldViolation("configs.min.insync.replicas", "must not exceed replication_factor")
        )
    return violations


def _start(
    unit: Unit,
    t: Topic,
    verb: str,
    request_id: str,
    finished: dict[str, Any] | None = None,
) -> Operation:
    return operations.start_reconcile(
        unit,
        t,
        kind=KIND,
        target=name_of(t.project_id, t.cluster_id, t.topic_id),
        cluster_uid=t.cluster_uid,
        verb=verb,
        task="topics.reconcile",
        request_id=request_id,
        finished=finished,
    )


async def get(
    connection: Connection, project_id: str, cluster_id: str, topic_id: str
) -> tuple[Topic, ResourceStatus | None]:
    found = await repository.get(connection, project_id, cluster_id, topic_id)
    if found is None:
        raise not_found(KIND, name_of(project_id, cluster_id, topic_id))
    return found


def _collision(topic_id: str, existing: str) -> ApiError:
    return ApiError(
        409,
        "TOPIC_NAME_COLLISION",
        f"topic {topic_id!r} collides with existing topic {existing!r}: Kafka treats '.' "
        "and '_' as the same character in metric names",
        status="ALREADY_EXISTS",
    )


def _add_topic(
    unit: Unit, cluster: Cluster, topic_id: str, values: dict[str, Any], now: datetime
) -> Topic:
    return unit.add(
        Topic,
        uid=uuid.uuid4(),
        cluster_uid=cluster.uid,
        project_id=cluster.project_id,
        cluster_id=cluster.cluster_id,
        topic_id=topic_id,
        collision_key=topic_collision_key(topic_id),
        generation=1,
        version=1,
        create_time=now,
        update_time=now,
        delete_time=None,
        **values,
    )


async def create(
    unit: Unit,
    project_id: str,
    cluster_id: str,
    topic_id: str,
    body_in: TopicIn,
    request_id: str,
) -> Operation:
    cluster = await clusters.parent(unit, project_id, cluster_id)
    values = _values(body_in, cluster)
    raise_if(topic_name_violations("topic_id", topic_id) + _validate(values, cluster))
    # A topic of this name, or of one that collides with it, is found by the write itself: the
    # unique index on the collision key refuses the row (no read before the write).
    unit.on_conflict(lambda: _conflict(unit.connection, cluster, topic_id))
    topic = _add_topic(unit, cluster, topic_id, values, utcnow())
    return _start(unit, topic, "create", request_id)


async def _conflict(connection: Connection, cluster: Cluster, topic_id: str) -> ApiError:
    key = topic_collision_key(topic_id)
    existing = (await repository.colliding_any(connection, cluster.uid, [key])).get(key)
    if existing is None or existing == topic_id:
        return already_exists(KIND, name_of(cluster.project_id, cluster.cluster_id, topic_id))
    return _collision(topic_id, existing)


def _listed(names: list[str], most: int = 20) -> str:
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown} and {len(names) - most} more"


def _batch_conflict(
    cluster: Cluster, entries: list[tuple[str, TopicIn]], existing: dict[str, str]
) -> ApiError:
    """The 409 of a batch whose write found topics that exist (or collide): it names them."""
    taken = [(t, existing.get(topic_collision_key(t))) for t, _ in entries]
    same = [t for t, other in taken if other == t]
    pairs = [f"{t!r} with {other!r}" for t, other in taken if other is not None and other != t]
    if same or not pairs:
        return ApiError(
            409,
            "TOPIC_ALREADY_EXISTS",
            f"{len(same)} topic(s) already exist in "
            f"{collection_of(cluster.project_id, cluster.cluster_id)}: {_listed(same)}",
            status="ALREADY_EXISTS",
            metadata={"topic_ids": ",".join(same)},
        )
    return ApiError(
        409,
        "TOPIC_NAME_COLLISION",
        f"{len(pairs)} topic name(s) collide with existing topics: {_listed(pairs)}; Kafka "
        "treats '.' and '_' as the same character in metric names",
        status="ALREADY_EXISTS",
    )


async def create_many(
    unit: Unit,
    cluster: Cluster,
    entries: list[tuple[str, TopicIn]],
    request_id: str,
) -> list[Operation]:
    """Create every (topic_id, body) of a batch, or none: each entry is checked as a single
    create would be, and also against the batch's other entries (a repeated id, or two names
    that collide on '.'/'_'). One Operation per topic, in the entries' order."""
    violations: list[FieldViolation] = []
    first_of_key: dict[str, int] = {}
    all_values = []
    for i, (topic_id, body_in) in enumerate(entries):
        prefix = f"requests[{i}]"
        values = _values(body_in, cluster)
        all_values.append(values)
        found = topic_name_violations(f"{prefix}.topic_id", topic_id)
        if not found:
            first = first_of_key.setdefault(topic_collision_key(topic_id), i)
            if first != i:
                earlier = entries[first][0]
                found = [
                    FieldViolation(
                        f"{prefix}.topic_id",
                        f"repeats requests[{first}].topic_id"
                        if earlier == topic_id
                        else f"collides with requests[{first}].topic_id ({earlier!r}): Kafka "
                        "treats '.' and '_' as the same character in metric names",
                    )
                ]
        violations += found
        violations += (
            FieldViolation(f"{prefix}.topic.{v.field}", v.description)
            for v in _validate(values, cluster)
        )
    raise_if(violations)
    keys = list(first_of_key)

    async def explain() -> Exception:
        existing = await repository.colliding_any(unit.connection, cluster.uid, keys)
        return _batch_conflict(cluster, entries, existing)

    # Topics that exist already are refused by the write's unique index (no read before it).
    unit.on_conflict(explain)
    now = utcnow()
    operations_out = []
    for (topic_id, _), values in zip(entries, all_values, strict=True):
        topic = _add_topic(unit, cluster, topic_id, values, now)
        operations_out.append(_start(unit, topic, "create", request_id))
    return operations_out


def update(
    unit: Unit,
    cluster: Cluster,
    topic: Topic,
    status: ResourceStatus | None,
    body_in: TopicIn,
    fields: set[str],
    request_id: str,
) -> Operation:
    if topic.delete_time is not None:
        raise ApiError(409, "TOPIC_DELETING", "the topic is being deleted", status="ABORTED")
    values = _values(body_in, cluster)
    if "replication_factor" in fields and body_in.replication_factor is None:
        values["replication_factor"] = topic.replication_factor
    new = {f: values[f] for f in fields}
    merged = {**_desired(topic), "labels": topic.labels, **new}
    violations = (
        _validate(merged, cluster)
        if new.keys() - {"labels"}
        else label_violations(merged["labels"])
    )
    violations += immutable_violation(
        "replication_factor", topic.replication_factor, merged["replication_factor"]
    )
    if merged["partition_count"] < topic.partition_count:
        violations.append(FieldViolation("partition_count", "may only grow"))
    raise_if(violations)
    if apply_changes(unit, Topic, topic, new, _desired):
        return _start(unit, topic, "update", request_id)
    return _start(unit, topic, "update", request_id, finished=body(topic, status))


async def delete(unit: Unit, topic: Topic, request_id: str) -> Operation:
    return await operations.request_delete(
        unit, Topic, topic, lambda: _start(unit, topic, "delete", request_id)
    )
