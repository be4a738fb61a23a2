"""Rules of ACLs: the `acl_id` encodes one Kafka resource pattern; its entries are validated
against the operations Kafka allows on that resource type. Never commits."""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass
from typing import Any

from app.acls import repository
from app.acls.schemas import AclEntry, AclIn
from app.acls.views import body, name_of
from app.core.errors import (
    ApiError,
    FieldViolation,
    aborted,
    already_exists,
    invalid_field,
    not_found,
)
from app.core.pools import Connection
from app.core.resource import label_violations, raise_if
from app.core.unit import Unit, apply_changes
from app.models import Acl, Cluster, Operation, ResourceStatus
from app.models.base import utcnow
from app.operations import service as operations

KIND = "acl"
# Names inside acl ids: Kafka's topic alphabet. A ':' would make custom verbs ambiguous.
_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")
_PRINCIPAL = re.compile(r"^User:(\*|[a-z]([-a-z0-9]{0,61}[a-z0-9])?)$")

_OPS = {
    "TOPIC": {
        "READ",
        "WRITE",
        "CREATE",
        "DELETE",
        "ALTER",
        "DESCRIBE",
        "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS",
        "ALL",
    },
    "GROUP": {"READ", "DESCRIBE", "DELETE", "ALL"},
    "CLUSTER": {
        "CREATE",
        "CLUSTER_ACTION",
        "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS",
        "IDEMPOTENT_WRITE",
        "ALTER",
        "DESCRIBE",
        "ALL",
    },
    "TRANSACTIONAL_ID": {"DESCRIBE", "WRITE", "ALL"},
}
_KINDS = {
    "topic": ("TOPIC", "LITERAL"),
    "topicPrefixed": ("TOPIC", "PREFIXED"),
    "consumerGroup": ("GROUP", "LITERAL"),
    "consumerGroupPrefixed": ("GROUP", "PREFIXED"),
    "transactionalId": ("TRANSACTIONAL_ID", "LITERAL"),
    "transactionalIdPrefixed": ("TRANSACTIONAL_ID", "PREFIXED"),
}
_WHOLE = {
    "cluster": ("CLUSTER", "LITERAL", "kafka-cluster"),
    "allTopics": ("TOPIC", "LITERAL", "*"),
    "allConsumerGroups": ("GROUP", "LITERAL", "*"),
    "allTransactionalIds": ("TRANSACTIONAL_ID", "LITERAL", "*"),
}


@dataclass(frozen=True)
class Pattern:
    resource_type: str
    pattern_type: str
    resource_name: str


def parse_acl_id(acl_id: str) -> Pattern:
    """`topic/orders` -> (TOPIC, LITERAL, orders); a clear 400 for anything else."""
    if acl_id in _WHOLE:
        return Pattern(*_WHOLE[acl_id])
    kind, sep, name = acl_id.partition("/")
    if not sep or kind not in _KINDS:
        allowed = ", ".join([*_WHOLE, *(f"{k}/{{name}}" for k in _KINDS)])
        raise invalid_field("acl_id", f"must be one of: {allowed}")
    if not _NAME.match(name):
        raise invalid_field("acl_id", "the name must be 1-249 of [a-zA-Z0-9._-]")
    resource_type, pattern_type = _KINDS[kind]
    return Pattern(resource_type, pattern_type, name)


def entry_violations(
    field: str, entries: list[AclEntry], resource_type: str
) -> list[FieldViolation]:
    out: list[FieldViolation] = []
    seen: set[AclEntry] = set()
    for i, entry in enumerate(entries):
        path = f"{field}[{i}]"
        if not _PRINCIPAL.match(entry.principal):
            out.append(FieldViolation(f"{path}.principal", 'must be "User:{user_id}" or "User:*"'))
        if entry.operation not in _OPS[resource_type]:
            allowed = ", ".join(sorted(_OPS[resource_type]))
            out.append(
                FieldViolation(
                    f"{path}.operation", f"{resource_type} resources allow only {allowed}"
                )
            )
        if entry.host != "*":
            try:
                ipaddress.ip_address(entry.host)
            except ValueError:
                out.append(FieldViolation(f"{path}.host", 'must be "*" or an IP address'))
        if entry in seen:
            out.append(FieldViolation(path, "duplicates an earlier entry"))
        seen.add(entry)
    return out


def _start(
    unit: Unit,
    a: Acl,
    verb: str,
    request_id: str,
    finished: dict[str, Any] | None = None,
) -> Operation:
    return operations.start_reconcile(
        unit,
        a,
        kind=KIND,
        target=name_of(a.project_id, a.cluster_id, a.acl_id),
        cluster_uid=a.cluster_uid,
        verb=verb,
        task="acls.reconcile",
        request_id=request_id,
        finished=finished,
    )


async def get(
    connection: Connection, project_id: str, cluster_id: str, acl_id: str
) -> tuple[Acl, ResourceStatus | None]:
    found = await repository.get(connection, project_id, cluster_id, acl_id)
    if found is None:
        raise not_found(KIND, name_of(project_id, cluster_id, acl_id))
    return found


def create(
    unit: Unit,
    cluster: Cluster,
    acl_id: str,
    body_in: AclIn,
    request_id: str,
    read_again_if_exists: bool = False,
) -> Operation:
    """A new ACL. An existing one of this id is refused by the write's unique index (no read
    before it): a 409, or with `read_again_if_exists` the mutation runs again (an :addAclEntry
    that found no ACL, while a concurrent one created it)."""
    pattern = parse_acl_id(acl_id)
    raise_if(
        entry_violations("acl_entries", body_in.acl_entries, pattern.resource_type)
        + label_violations(body_in.labels)
    )
    exists = already_exists(KIND, name_of(cluster.project_id, cluster.cluster_id, acl_id))

    async def explain() -> Exception | None:
        return None if read_again_if_exists else exists

    unit.on_conflict(explain)
    now = utcnow()
    acl = unit.add(
        Acl,
        uid=uuid.uuid4(),
        cluster_uid=cluster.uid,
        project_id=cluster.project_id,
        cluster_id=cluster.cluster_id,
        acl_id=acl_id,
        resource_type=pattern.resource_type,
        pattern_type=pattern.pattern_type,
        resource_name=pattern.resource_name,
        acl_entries=[e.model_dump() for e in body_in.acl_entries],
        labels=dict(body_in.labels),
        generation=1,
        version=1,
        create_time=now,
        update_time=now,
        delete_time=None,
    )
    return _start(unit, acl, "create", request_id)


def set_entries(
    unit: Unit,
    acl: Acl,
    status: ResourceStatus | None,
    entries: list[dict[str, Any]] | None,
    labels: dict[str, str] | None,
    request_id: str,
) -> Operation:
    """Replace entries and/or labels; a new generation only when the entries change."""
    if acl.delete_time is not None:
        raise aborted("ACL_DELETING", "the acl is being deleted")
    new: dict[str, Any] = {}
    if entries is not None:
        new["acl_entries"] = entries
    if labels is not None:
        new["labels"] = labels
    if apply_changes(unit, Acl, acl, new, lambda a: {"acl_entries": a.acl_entries}):
        return _start(unit, acl, "update", request_id)
    return _start(unit, acl, "update", request_id, finished=body(acl, status))


def update(
    unit: Unit,
    acl: Acl,
    status: ResourceStatus | None,
    body_in: AclIn,
    fields: set[str],
    request_id: str,
) -> Operation:
    violations = []
    if "acl_entries" in fields:
        violations += entry_violations("acl_entries", body_in.acl_entries, acl.resource_type)
    if "labels" in fields:
        violations += label_violations(body_in.labels)
    raise_if(violations)
    entries = [e.model_dump() for e in body_in.acl_entries] if "acl_entries" in fields else None
    labels = dict(body_in.labels) if "labels" in fields else None
    return set_entries(unit, acl, status, entries, labels, request_id)


async def add_entry(
    unit: Unit, cluster: Cluster, acl_id: str, entry: AclEntry, request_id: str
) -> Operation:
    """Add one entry without replacing the list, creating the ACL when it does not exist; an
    entry that is present already changes nothing."""
    found = await repository.get(unit.connection, cluster.project_id, cluster.cluster_id, acl_id)
    if found is None:
        body_in = AclIn(acl_entries=[entry])
        return create(unit, cluster, acl_id, body_in, request_id, read_again_if_exists=True)
    acl, status = found
    raise_if(entry_violations("acl_entry", [entry], acl.resource_type))
    dumped = entry.model_dump()
    entries = acl.acl_entries if dumped in acl.acl_entries else [*acl.acl_entries, dumped]
    if len(entries) > 1000:
        raise invalid_field("acl_entry", "an acl holds at most 1000 entries")
    return set_entries(unit, acl, status, entries, None, request_id)


async def remove_entry(
    unit: Unit, acl: Acl, status: ResourceStatus | None, entry: AclEntry, request_id: str
) -> Operation:
    """Remove one entry; removing the last one deletes the ACL."""
    dumped = entry.model_dump()
    if dumped not in acl.acl_entries:
        raise ApiError(404, "ACL_ENTRY_NOT_FOUND", "the acl has no such entry")
    entries = [e for e in acl.acl_entries if e != dumped]
    if not entries:
        return await delete(unit, acl, request_id)
    return set_entries(unit, acl, status, entries, None, request_id)


async def delete(unit: Unit, acl: Acl, request_id: str) -> Operation:
    return await operations.request_delete(
        unit, Acl, acl, lambda: _start(unit, acl, "delete", request_id)
    )
