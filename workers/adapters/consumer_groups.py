"""A cluster's consumer groups on its brokers, for the workers (confluent-kafka's AdminClient):
the reads an offset reset needs at apply time and the lag sampler needs, and the two writes
(alter the committed offsets, delete the group).

The brokers themselves refuse both writes while the group has members (Kafka answers
UNKNOWN_MEMBER_ID / NON_EMPTY_GROUP), so "EMPTY at apply time" does not rest on the describe
that precedes the write alone: a consumer joining in between makes the write fail, reported as
`GroupRefused`. Timeouts and unreachable brokers are `TransientError`.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

from confluent_kafka import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from app.consumer_groups.views import Bounds, Partition
from workers.adapters.kafka_admin import confluent_config
from workers.outcome import TransientError

T = TypeVar("T")
_NO_OFFSET = -1001  # OFFSET_INVALID: nothing committed
_EARLIEST: Any = OffsetSpec.earliest()  # type: ignore[no-untyped-call]
_LATEST: Any = OffsetSpec.latest()  # type: ignore[no-untyped-call]
_ABSENT = {KafkaError.GROUP_ID_NOT_FOUND, KafkaError.UNKNOWN_TOPIC_OR_PART}
# What the brokers answer to a write on a group that has members.
_NOT_EMPTY = {
    KafkaError.NON_EMPTY_GROUP,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.REBALANCE_IN_PROGRESS,
}


# Per-partition answers that say "ask again shortly" though librdkafka does not flag them
# retriable (a coordinator moving or still loading its offsets).
_COORDINATOR_BUSY = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.REQUEST_TIMED_OUT,
}


class GroupRefused(Exception):
    """The brokers refused a write for a reason a retry would meet again (FAILED_PRECONDITION)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class GroupAdmin(Protocol):
    """What applying a reset or a deletion needs from a cluster's brokers."""

    def state(self, group: str) -> str | None:
        """The group's state (Kafka's, e.g. EMPTY, STABLE); None: the brokers do not have it."""
        ...

    def committed(self, group: str) -> dict[Partition, int | None]: ...

    def committed_of(self, groups: Collection[str]) -> dict[str, dict[Partition, int | None]]:
        """Each group's committed offsets ({} for a group the brokers do not have)."""
        ...

    def partition_counts(self, topics: Collection[str]) -> dict[str, int | None]: ...

    def bounds(self, partitions: Collection[Partition]) -> dict[Partition, Bounds]: ...

    def offsets_for_time(
        self, partitions: Collection[Partition], epoch_ms: int
    ) -> dict[Partition, int]: ...

    def alter(self, group: str, offsets: Mapping[Partition, int]) -> None: ...

    def list_groups(self) -> list[str]:
        """Every group's id; TransientError if any broker did not list its groups."""
        ...

    def log_end(self, partitions: Collection[Partition]) -> dict[Partition, int]: ...

    def delete(self, group: str) -> None: ...


def _kafka_error(exc: BaseException) -> KafkaError | None:
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0]
    return None


def _partition(tp: TopicPartition) -> Partition:
    return Partition(tp.topic, tp.partition)


class ConfluentGroupAdmin:
    """`GroupAdmin` over confluent-kafka, as the control plane's own principal."""

    def __init__(self, bootstrap: str, username: str, password: str, timeout: float) -> None:
        self.timeout = timeout
        self._client = AdminClient(
            {
                **confluent_config(bootstrap, username, password),
                "socket.timeout.ms": int(timeout * 1000),
                "reconnect.backoff.max.ms": 2000,
                "log_level": 0,
            }
        )
        self._kw = {"request_timeout": timeout}

    def _result(self, future: Future[T], what: str) -> T:
        """The future's value; KafkaException for an absent group or partition (the caller
        says what that means), GroupRefused for a non-empty group, else TransientError."""
        try:
            return future.result(timeout=self.timeout + 5)
        except KafkaException as exc:
            err = _kafka_error(exc)
            code = err.code() if err is not None else None
            if code in _ABSENT:
                raise
            if code in _NOT_EMPTY:
                raise GroupRefused("GROUP_NOT_EMPTY", f"{what}: the group has members") from None
            if code in _COORDINATOR_BUSY:
                raise TransientError(f"{what}: {exc}") from None
            if err is not None and not err.retriable() and code is not None and code > 0:
                raise GroupRefused("KAFKA_REFUSED", f"{what}: {err.str()}") from None
            raise TransientError(f"{what}: {exc}") from None
        except TimeoutError:
            raise TransientError(f"{what}: no answer from the brokers") from None

    def state(self, group: str) -> str | None:
        future = self._client.describe_consumer_groups([group], **self._kw)[group]
        try:
            d = self._result(future, f"describe group {group!r}")
        except KafkaException:
            return None
        state = d.state.name if isinstance(d.state, ConsumerGroupState) else str(d.state)
        return None if state == "DEAD" else state

    def committed(self, group: str) -> dict[Partition, int | None]:
        return self.committed_of([group])[group]

    def committed_of(self, groups: Collection[str]) -> dict[str, dict[Partition, int | None]]:
        # One request per group (the client takes one group per call), all sent at once.
        futures = {
            g: self._client.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(g)], **self._kw
            )[g]
            for g in groups
        }
        out: dict[str, dict[Partition, int | None]] = {}
        for group, future in futures.items():
            try:
                result = self._result(future, f"offsets of group {group!r}")
            except KafkaException:
                out[group] = {}
                continue
            out[group] = {
                _partition(tp): None if tp.offset == _NO_OFFSET else tp.offset
                for tp in result.topic_partitions or []
            }
        return out

    def partition_counts(self, topics: Collection[str]) -> dict[str, int | None]:
        if not topics:
            return {}
        futures = self._client.describe_topics(TopicCollection(list(topics)), **self._kw)
        out: dict[str, int | None] = {}
        for topic, future in futures.items():
            try:
                out[topic] = len(self._result(future, f"describe topic {topic!r}").partitions)
            except KafkaException:
                out[topic] = None
        return out

    def _offsets(self, partitions: Iterable[Partition], spec: Any) -> dict[Partition, int]:
        wanted = {TopicPartition(p.topic, p.partition): spec for p in partitions}
        if not wanted:
            return {}
        out: dict[Partition, int] = {}
        for tp, future in self._client.list_offsets(wanted, **self._kw).items():
            try:
                out[_partition(tp)] = self._result(future, "list offsets").offset
            except KafkaException:
                continue
        return out

    def bounds(self, partitions: Collection[Partition]) -> dict[Partition, Bounds]:
        starts = self._offsets(partitions, _EARLIEST)
        ends = self._offsets(partitions, _LATEST)
        return {p: Bounds(starts[p], ends[p]) for p in partitions if p in starts and p in ends}

    def offsets_for_time(
        self, partitions: Collection[Partition], epoch_ms: int
    ) -> dict[Partition, int]:
        return self._offsets(partitions, OffsetSpec.for_timestamp(epoch_ms))

    def list_groups(self) -> list[str]:
        result = self._result(self._client.list_consumer_groups(**self._kw), "list groups")
        if result.errors:
            raise TransientError(f"{len(result.errors)} broker(s) did not list their groups")
        return sorted(g.group_id for g in result.valid)

    def log_end(self, partitions: Collection[Partition]) -> dict[Partition, int]:
        return self._offsets(partitions, _LATEST)

    def alter(self, group: str, offsets: Mapping[Partition, int]) -> None:
        tps = [TopicPartition(p.topic, p.partition, offset) for p, offset in offsets.items()]
        request = [ConsumerGroupTopicPartitions(group, tps)]
        future = self._client.alter_consumer_group_offsets(request, **self._kw)[group]
        try:
            result = self._result(future, f"alter offsets of group {group!r}")
        except KafkaException as exc:
            raise GroupRefused("GROUP_NOT_FOUND", f"group {group!r}: {exc}") from None
        for tp in result.topic_partitions or []:
            if tp.error is not None:
                code = tp.error.code()
                if code in _NOT_EMPTY:
                    raise GroupRefused("GROUP_NOT_EMPTY", f"group {group!r} has members")
                if tp.error.retriable() or code in _COORDINATOR_BUSY:
                    raise TransientError(f"alter offsets {tp.topic}/{tp.partition}: {tp.error}")
                raise GroupRefused("KAFKA_REFUSED", f"{tp.topic}/{tp.partition}: {tp.error}")

    def delete(self, group: str) -> None:
        future = self._client.delete_consumer_groups([group], **self._kw)[group]
        try:
            self._result(future, f"delete group {group!r}")
        except KafkaException:
            return  # already gone: what was asked for


_cache: dict[tuple[str, str], ConfluentGroupAdmin] = {}
_cache_lock = threading.Lock()


def group_admin_for(
    bootstrap: str, username: str, password: str, timeout: float
) -> ConfluentGroupAdmin:
    """A cached client per (bootstrap, credential) in this process."""
    with _cache_lock:
        client = _cache.get((bootstrap, password))
        if client is None:
            client = _cache[(bootstrap, password)] = ConfluentGroupAdmin(
                bootstrap, username, password, timeout
            )
        return client
