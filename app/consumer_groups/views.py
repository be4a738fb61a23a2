"""A consumer group's resource body, and the before/after table of an offset reset. Pure: the
API and the workers both render and plan with it (the API for `validate_only` and the reads,
the workers when they apply a reset), so a preview and the reset it previews are computed by
the same function from the same kind of observation."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.core.resource import rfc3339

KIND = "consumer_group"
RESET_VERB = "resetOffsets"
DELETE_VERB = "delete"
# Kafka's group states, as confluent-kafka names them.
STATES = (
    "UNKNOWN",
    "PREPARING_REBALANCING",
    "COMPLETING_REBALANCING",
    "STABLE",
    "DEAD",
    "EMPTY",
)
# The one state in which a group's offsets may be changed or the group deleted.
EMPTY = "EMPTY"


def name_of(project_id: str, cluster_id: str, group_id: str) -> str:
    return f"projects/{project_id}/clusters/{cluster_id}/consumer_groups/{group_id}"


def collection_of(project_id: str, cluster_id: str) -> str:
    return f"projects/{project_id}/clusters/{cluster_id}/consumer_groups"


def target_uid(cluster_uid: uuid.UUID, group_id: str) -> uuid.UUID:
    """A stable uid for a group (which has no row of its own), for its Operations."""
    return uuid.uuid5(cluster_uid, f"consumer_group:{group_id}")


def _java_hash(text: str) -> int:
    """Java's String.hashCode (over UTF-16 code units, 32-bit signed)."""
    units = text.encode("utf-16-be", "surrogatepass")
    h = 0
    for i in range(0, len(units), 2):
        h = (31 * h + (units[i] << 8 | units[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def offsets_partition(group_id: str, partition_count: int) -> int:
    """The partition of __consumer_offsets that holds a group, whose leader is the group's
    coordinator: Kafka's `Utils.abs(groupId.hashCode()) % partitionCount` (Utils.abs maps
    Integer.MIN_VALUE to 0)."""
    h = _java_hash(group_id)
    return (0 if h == -(1 << 31) else abs(h)) % partition_count


@dataclass(frozen=True, order=True)
class Partition:
    topic: str
    partition: int


@dataclass(frozen=True)
class Member:
    member_id: str
    client_id: str
    host: str
    group_instance_id: str | None
    assignment: tuple[Partition, ...]


@dataclass(frozen=True)
class ObservedGroup:
    """One group as the brokers described it, with its committed offsets and, for each of
    those partitions, the log end offset (None where the brokers did not say)."""

    group_id: str
    state: str
    protocol: str
    simple: bool
    coordinator: int | None
    members: tuple[Member, ...]
    committed: Mapping[Partition, int | None]
    log_end: Mapping[Partition, int | None]
    observe_time: datetime


def partitions_of(group: ObservedGroup) -> list[Partition]:
    """The partitions a group's body lists: those with a committed offset or assigned."""
    assigned = {p for m in group.members for p in m.assignment}
    return sorted(assigned | set(group.committed))


def _lag(committed: int | None, end: int | None) -> int | None:
    if committed is None or end is None:
        return None
    return max(0, end - committed)


@dataclass(frozen=True)
class Lag:
    total: int
    max: int


def lag_of(
    committed: Mapping[Partition, int | None], log_end: Mapping[Partition, int | None]
) -> Lag:
    """total_lag and max_lag over the partitions whose committed and end offsets are known."""
    lags = [
        lag for p, offset in committed.items() if (lag := _lag(offset, log_end.get(p))) is not None
    ]
    return Lag(sum(lags), max(lags, default=0))


def body(project_id: str, cluster_id: str, group: ObservedGroup) -> dict[str, Any]:
    offsets = []
    for p in partitions_of(group):
        committed = group.committed.get(p)
        end = group.log_end.get(p)
        lag = _lag(committed, end)
        offsets.append(
            {
                "topic": p.topic,
                "partition": p.partition,
                "committed_offset": committed,
                "log_end_offset": end,
                "lag": lag,
            }
        )
    totals = lag_of(group.committed, group.log_end)
    return {
        "name": name_of(project_id, cluster_id, group.group_id),
        "group_id": group.group_id,
        "state": group.state,
        "protocol": group.protocol,
        "simple": group.simple,
        "coordinator": group.coordinator,
        "members": [
            {
                "member_id": m.member_id,
                "client_id": m.client_id,
                "host": m.host,
                "group_instance_id": m.group_instance_id,
                "assigned_partitions": [
                    {"topic": p.topic, "partition": p.partition} for p in m.assignment
                ],
            }
            for m in group.members
        ],
        "offsets": offsets,
        "total_lag": totals.total,
        "max_lag": totals.max,
        "observe_time": rfc3339(group.observe_time),
    }


def lag_history_body(
    project_id: str, cluster_id: str, group_id: str, samples: Sequence[tuple[datetime, int, int]]
) -> dict[str, Any]:
    """`.../lag_history`: (time, total_lag, max_lag) samples, oldest first."""
    return {
        "group": name_of(project_id, cluster_id, group_id),
        "samples": [
            {"time": rfc3339(t), "total_lag": total, "max_lag": most} for t, total, most in samples
        ],
    }


@dataclass(frozen=True)
class TopicSelection:
    topic: str
    partitions: tuple[int, ...] = ()  # empty: every partition of the topic


@dataclass(frozen=True)
class ResetSpec:
    """Where to move a group's offsets: exactly one of the five targets is set."""

    to_earliest: bool = False
    to_latest: bool = False
    to_timestamp: datetime | None = None
    to_offset: int | None = None
    shift_by: int | None = None
    topics: tuple[TopicSelection, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.to_earliest:
            out["to_earliest"] = True
        if self.to_latest:
            out["to_latest"] = True
        if self.to_timestamp is not None:
            out["to_timestamp"] = rfc3339(self.to_timestamp)
        if self.to_offset is not None:
            out["to_offset"] = self.to_offset
        if self.shift_by is not None:
            out["shift_by"] = self.shift_by
        if self.topics:
            out["topics"] = [
                {"topic": t.topic, "partitions": list(t.partitions)} for t in self.topics
            ]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResetSpec:
        stamp = data.get("to_timestamp")
        return cls(
            to_earliest=bool(data.get("to_earliest")),
            to_latest=bool(data.get("to_latest")),
            to_timestamp=datetime.fromisoformat(stamp) if stamp else None,
            to_offset=data.get("to_offset"),
            shift_by=data.get("shift_by"),
            topics=tuple(
                TopicSelection(t["topic"], tuple(t.get("partitions", ())))
                for t in data.get("topics", ())
            ),
        )


class ResetRefused(Exception):
    """A reset that cannot be carried out as asked (a FAILED_PRECONDITION): the group has no
    offsets to reset, a topic or partition does not exist, a shift has nothing to shift."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Bounds:
    """A partition's log start and log end offsets."""

    start: int
    end: int


@dataclass(frozen=True)
class ResetRow:
    partition: Partition
    before: int | None
    after: int


def select_partitions(
    spec: ResetSpec,
    committed: Mapping[Partition, int | None],
    partition_counts: Mapping[str, int | None],
) -> list[Partition]:
    """The partitions a reset applies to: those named (every partition of a topic named
    without partitions), or else every partition the group has committed an offset for."""
    if not spec.topics:
        chosen = sorted(p for p, offset in committed.items() if offset is not None)
        if not chosen:
            raise ResetRefused(
                "NO_COMMITTED_OFFSETS",
                "the group has no committed offsets; name the topics to reset",
            )
        return chosen
    out: set[Partition] = set()
    for selection in spec.topics:
        count = partition_counts.get(selection.topic)
        if count is None:
            raise ResetRefused("TOPIC_NOT_FOUND", f"topic {selection.topic!r} does not exist")
        wanted = selection.partitions or tuple(range(count))
        missing = [n for n in wanted if not 0 <= n < count]
        if missing:
            raise ResetRefused(
                "PARTITION_NOT_FOUND",
                f"topic {selection.topic!r} has {count} partition(s); no partition {missing[0]}",
            )
        out.update(Partition(selection.topic, n) for n in wanted)
    return sorted(out)


def plan_reset(
    spec: ResetSpec,
    partitions: Sequence[Partition],
    committed: Mapping[Partition, int | None],
    bounds: Mapping[Partition, Bounds],
    by_time: Mapping[Partition, int] | None = None,
) -> list[ResetRow]:
    """The before/after table. Every target lands inside the log ([start, end]), as Kafka's
    own tool clamps: a shift past the log start stops at it. `by_time` (for `to_timestamp`) is
    the brokers' first offset at or after the time, or -1 where no record is that late (the
    log end then)."""
    rows = []
    for p in partitions:
        b = bounds[p]
        before = committed.get(p)
        if spec.to_earliest:
            target = b.start
        elif spec.to_latest:
            target = b.end
        elif spec.to_timestamp is not None:
            found = (by_time or {}).get(p, -1)
            target = b.end if found < 0 else found
        elif spec.to_offset is not None:
            target = spec.to_offset
        else:
            assert spec.shift_by is not None
            if before is None:
                raise ResetRefused(
                    "NO_COMMITTED_OFFSET",
                    f"cannot shift {p.topic}/{p.partition}: the group has no committed offset",
                )
            target = before + spec.shift_by
        rows.append(ResetRow(p, before, min(max(target, b.start), b.end)))
    return rows


def reset_body(
    project_id: str, cluster_id: str, group_id: str, rows: Sequence[ResetRow], validate_only: bool
) -> dict[str, Any]:
    """What `:resetOffsets` answers with `validate_only`, and its Operation's response."""
    return {
        "group": name_of(project_id, cluster_id, group_id),
        "validate_only": validate_only,
        "offsets": [
            {
                "topic": r.partition.topic,
                "partition": r.partition.partition,
                "before": r.before,
                "after": r.after,
            }
            for r in rows
        ],
    }
