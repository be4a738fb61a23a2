"""PURE: what `kplane topics apply` would do — a file of desired topics against the topics the
API lists — as creates, updates (only the fields that differ, with the etag that was read) and
topics already as desired. No I/O here, so the diff is tested without an API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Body = dict[str, Any]
WRITABLE = ("partition_count", "replication_factor", "configs", "labels")
MAPS = ("configs", "labels")


class PlanError(ValueError):
    """The file does not describe topics the way `apply` reads them."""


@dataclass(frozen=True)
class Desired:
    """One topic of the file: its name and the writable fields it sets (absent = leave)."""

    name: str
    fields: Body


@dataclass(frozen=True)
class Change:
    path: str  # e.g. "partition_count" or "configs.retention.ms"
    before: object
    after: object


@dataclass(frozen=True)
class Update:
    topic: str
    body: Body
    etag: str
    changes: list[Change]

    @property
    def mask(self) -> str:
        return ",".join(sorted(self.body))


@dataclass
class Plan:
    creates: list[Desired] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.creates and not self.updates


def scalar(value: object) -> str:
    """A config value as the API reports it: a string (`true`, not `True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_file(doc: object) -> tuple[str | None, list[Desired]]:
    """The file's optional `cluster` and its `topics`: a list of `{name, <fields>}`."""
    if not isinstance(doc, dict) or not isinstance(doc.get("topics"), list):
        raise PlanError("expected a mapping with a 'topics:' list")
    unknown_top = set(doc) - {"cluster", "topics"}
    if unknown_top:
        raise PlanError(f"unknown top-level key(s): {', '.join(sorted(unknown_top))}")
    cluster = doc.get("cluster")
    topics: list[Desired] = []
    seen: set[str] = set()
    for i, entry in enumerate(doc["topics"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise PlanError(f"topics[{i}]: expected a mapping with a string 'name'")
        name = entry["name"]
        if name in seen:
            raise PlanError(f"topics[{i}]: {name!r} appears twice")
        seen.add(name)
        unknown = set(entry) - {"name", *WRITABLE}
        if unknown:
            raise PlanError(f"topics[{i}] ({name}): unknown field(s) {', '.join(sorted(unknown))}")
        for key in MAPS:
            if key in entry and not isinstance(entry[key], dict):
                raise PlanError(f"topics[{i}] ({name}): {key} must be a mapping")
        fields = {k: v for k, v in entry.items() if k != "name"}
        for key in MAPS:  # YAML reads `retention.ms: 1000` as a number; the API takes strings
            if key in fields:
                fields[key] = {str(k): scalar(v) for k, v in fields[key].items()}
        topics.append(Desired(name, fields))
    return (str(cluster) if cluster is not None else None), topics


def _changes(desired: Body, current: Body) -> list[Change]:
    changes: list[Change] = []
    for key, want in desired.items():
        have = current.get(key)
        if key in MAPS:
            have_map: Mapping[str, object] = have if isinstance(have, dict) else {}
            want_map: Mapping[str, object] = want
            for k in sorted(set(want_map) | set(have_map)):
                before = have_map.get(k)
                after = want_map.get(k)
                if before != after:
                    changes.append(Change(f"{key}.{k}", before, after))
        elif want != have:
            changes.append(Change(key, have, want))
    return changes


def plan(desired: list[Desired], existing: Mapping[str, Body]) -> Plan:
    """Create what is missing; update, field by field, what differs; leave the rest."""
    result = Plan()
    for topic in desired:
        current = existing.get(topic.name)
        if current is None:
            result.creates.append(topic)
            continue
        changes = _changes(topic.fields, current)
        if not changes:
            result.unchanged.append(topic.name)
            continue
        changed = {c.path.split(".", 1)[0] for c in changes}
        body = {k: v for k, v in topic.fields.items() if k in changed}
        result.updates.append(Update(topic.name, body, str(current.get("etag", "")), changes))
    return result
