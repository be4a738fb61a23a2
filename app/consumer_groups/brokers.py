"""Live reads of a cluster's consumer groups, from its brokers (the Kafka Admin API through
confluent-kafka): the API's only Kafka client, read-only by design (resets and deletions are
Operations the workers carry out).

Consumer groups are not desired state: they live on the brokers, so a GET asks the brokers.
Each read has a short timeout, and a broker that does not answer in time is a 503 with
Retry-After (`BrokersUnavailable`), never a 500. Reads for GET and list are cached for
`CACHE_SECONDS` per cluster (the group listing, and each page's groups with their offsets),
and concurrent identical reads share one request, so that a console refreshing
1,000 groups does not multiply requests to the brokers; a mutation reads `fresh`. A list page
starts reading the next page as it answers (`prefetch`), so a client walking the pages finds
it read or under way.

The client logs in as the control plane's own principal, whose password is derived from the
control plane's secret and the cluster's uid exactly as the workers derive it (a test holds
the two derivations equal), so the API needs no access to the cluster's Kubernetes Secret.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from confluent_kafka import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from app.consumer_groups.views import Bounds, Member, ObservedGroup, Partition
from app.core.errors import ApiError
from app.core.secrets import ADMIN_USERNAME
from app.models.base import utcnow

TIMEOUT_SECONDS = 5.0
CACHE_SECONDS = 2.0
RETRY_AFTER_SECONDS = 2
# A committed offset of -1001 (OFFSET_INVALID) means "none committed".
_NO_OFFSET = -1001
_ABSENT = {KafkaError.GROUP_ID_NOT_FOUND, KafkaError.UNKNOWN_TOPIC_OR_PART}
T = TypeVar("T")
_EARLIEST: Any = OffsetSpec.earliest()  # type: ignore[no-untyped-call]
_LATEST: Any = OffsetSpec.latest()  # type: ignore[no-untyped-call]


class BrokersUnavailable(ApiError):
    """503 UNAVAILABLE with Retry-After: the brokers did not answer in time."""

    def __init__(self, message: str) -> None:
        super().__init__(
            503,
            "BROKERS_UNAVAILABLE",
            message,
            status="UNAVAILABLE",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


@dataclass(frozen=True)
class Listing:
    group_id: str
    state: str


# (client, last use): a client unused this long is dropped (a deleted cluster's, a moved
# address's), so that its background threads do not reconnect to nothing for ever. Far longer
# than any request's timeout: no dropped client has a request in flight.
_IDLE_SECONDS = 600.0
_clients: dict[tuple[str, str], tuple[AdminClient, float]] = {}
_clients_lock = threading.Lock()
_cache: dict[tuple[Any, ...], tuple[float, asyncio.Future[Any]]] = {}
_background: set[asyncio.Future[Any]] = set()


def _config(bootstrap: str, password: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": ADMIN_USERNAME,
        "sasl.password": password,
        "socket.timeout.ms": int(TIMEOUT_SECONDS * 1000),
        "socket.connection.setup.timeout.ms": int(TIMEOUT_SECONDS * 1000),
        "reconnect.backoff.max.ms": 2000,
        "log_level": 0,
    }


def _client(bootstrap: str, password: str) -> AdminClient:
    """One client per (cluster address, credential) per process: a SASL handshake per read
    would cost more than the read."""
    key = (bootstrap, password)
    now = time.monotonic()
    with _clients_lock:
        for idle in [k for k, (_, used) in _clients.items() if used < now - _IDLE_SECONDS]:
            del _clients[idle]
        found = _clients.get(key)
        client = found[0] if found is not None else AdminClient(_config(bootstrap, password))
        _clients[key] = (client, now)
        return client


def _kafka_error(exc: BaseException) -> KafkaError | None:
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0]
    return None


def _partition(tp: TopicPartition) -> Partition:
    return Partition(tp.topic, tp.partition)


class Brokers:
    """The brokers of one cluster, as the API reads them."""

    def __init__(self, cluster_uid: uuid.UUID, bootstrap: str, password: str) -> None:
        self.cluster_uid = cluster_uid
        self._admin = _client(bootstrap, password)
        self._kw = {"request_timeout": TIMEOUT_SECONDS}

    async def _wait(self, future: Future[T], what: str) -> T:
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), TIMEOUT_SECONDS + 1)
        except TimeoutError:
            raise BrokersUnavailable(f"the brokers did not answer {what} in time") from None
        except KafkaException as exc:
            err = _kafka_error(exc)
            if err is not None and err.code() in _ABSENT:
                raise  # the caller says what a missing group or partition means
            raise BrokersUnavailable(f"the brokers did not answer {what}: {exc}") from None

    async def _cached(
        self, key: tuple[Any, ...], fresh: bool, read: Callable[[], Awaitable[T]]
    ) -> T:
        """`read()`, shared with any identical read under way or done in the last
        CACHE_SECONDS (a failed read is not kept)."""
        # Per event loop: a future belongs to the loop that made it.
        full = (id(asyncio.get_running_loop()), self.cluster_uid, *key)
        now = time.monotonic()
        hit = _cache.get(full)
        if not fresh and hit is not None and (not hit[1].done() or hit[0] > now):
            return await asyncio.shield(hit[1])
        task = asyncio.ensure_future(read())
        _cache[full] = (now + CACHE_SECONDS, task)

        def drop_failed(done: asyncio.Future[Any]) -> None:
            if (done.cancelled() or done.exception() is not None) and _cache.get(full) == (
                now + CACHE_SECONDS,
                task,
            ):
                _cache.pop(full, None)

        task.add_done_callback(drop_failed)
        if len(_cache) > 10_000:
            for stale in [k for k, (until, f) in _cache.items() if f.done() and until <= now]:
                _cache.pop(stale, None)
        return await asyncio.shield(task)

    async def list_groups(self, fresh: bool = False) -> list[Listing]:
        """Every group of the cluster with its state, sorted by id. A broker that did not
        answer makes the listing unknown (503), not shorter."""

        async def read() -> list[Listing]:
            result = await self._wait(
                self._admin.list_consumer_groups(**self._kw), "the group listing"
            )
            if result.errors:
                raise BrokersUnavailable(
                    f"{len(result.errors)} broker(s) did not list their groups: {result.errors[0]}"
                )
            return sorted(
                (Listing(g.group_id, _state(g.state)) for g in result.valid),
                key=lambda g: g.group_id,
            )

        return await self._cached(("list",), fresh, read)

    async def describe(self, group_ids: list[str], fresh: bool = False) -> list[ObservedGroup]:
        """The groups (those the brokers know; a missing one is left out), each with its
        committed offsets and their partitions' log end offsets: one DescribeGroups for them
        all, their offsets (one request per group, all at once), one ListOffsets."""

        async def read() -> list[ObservedGroup]:
            described, committed = await asyncio.gather(
                self._descriptions(group_ids),
                asyncio.gather(*(self.committed(g) for g in group_ids)),
            )
            offsets = dict(zip(group_ids, committed, strict=True))
            groups = [d for g in group_ids if (d := described.get(g)) is not None]
            listed = {g.group_id: [*offsets[g.group_id], *_assigned(g.members)] for g in groups}
            ends = await self._offsets({p for ps in listed.values() for p in ps}, _LATEST)
            return [
                replace(
                    g,
                    committed=offsets[g.group_id],
                    log_end={p: ends.get(p) for p in listed[g.group_id]},
                )
                for g in groups
            ]

        return await self._cached(("groups", tuple(group_ids)), fresh, read)

    def prefetch(self, group_ids: list[str]) -> None:
        """Start `describe(group_ids)` into the cache without waiting for it (a failure is
        dropped: the request that needs the page reads it again)."""
        if group_ids:
            task = asyncio.ensure_future(self.describe(group_ids))
            _background.add(task)  # the loop holds tasks weakly
            task.add_done_callback(_forget)

    async def _descriptions(self, group_ids: list[str]) -> dict[str, ObservedGroup | None]:
        if not group_ids:
            return {}
        futures = self._admin.describe_consumer_groups(group_ids, **self._kw)
        found = await asyncio.gather(*(self._description(g, futures[g]) for g in group_ids))
        return dict(zip(group_ids, found, strict=True))

    async def _description(self, group_id: str, future: Future[Any]) -> ObservedGroup | None:
        try:
            d = await self._wait(future, f"the description of group {group_id!r}")
        except KafkaException:
            return None  # GROUP_ID_NOT_FOUND
        state = _state(d.state)
        if state == "DEAD":
            return None  # what the brokers answer for a group they do not have
        members = tuple(
            Member(
                member_id=m.member_id,
                client_id=m.client_id,
                host=m.host,
                group_instance_id=m.group_instance_id,
                assignment=tuple(
                    sorted(_partition(tp) for tp in (m.assignment.topic_partitions or []))
                ),
            )
            for m in d.members
        )
        return ObservedGroup(
            group_id=group_id,
            state=state,
            protocol=d.partition_assignor or "",
            simple=bool(d.is_simple_consumer_group),
            coordinator=d.coordinator.id if d.coordinator is not None else None,
            members=members,
            committed={},
            log_end={},
            observe_time=utcnow(),
        )

    async def state_of(self, group_id: str) -> str | None:
        """The group's state now (no cache); None when the brokers do not have it."""
        described = (await self._descriptions([group_id]))[group_id]
        return None if described is None else described.state

    async def committed(self, group_id: str) -> dict[Partition, int | None]:
        request = [ConsumerGroupTopicPartitions(group_id)]
        futures = self._admin.list_consumer_group_offsets(request, **self._kw)
        try:
            result = await self._wait(futures[group_id], f"the offsets of group {group_id!r}")
        except KafkaException:
            return {}
        return {
            _partition(tp): None if tp.offset == _NO_OFFSET else tp.offset
            for tp in result.topic_partitions or []
        }

    async def _offsets(self, partitions: Iterable[Partition], spec: Any) -> dict[Partition, int]:
        """The brokers' answer to ListOffsets for each partition (left out: no such partition)."""
        wanted = {TopicPartition(p.topic, p.partition): spec for p in partitions}
        if not wanted:
            return {}
        futures = self._admin.list_offsets(wanted, **self._kw)
        out: dict[Partition, int] = {}
        for tp, future in futures.items():
            try:
                out[_partition(tp)] = (await self._wait(future, "the log offsets")).offset
            except KafkaException:
                continue
        return out

    async def bounds(self, partitions: Collection[Partition]) -> dict[Partition, Bounds]:
        starts, ends = await asyncio.gather(
            self._offsets(partitions, _EARLIEST),
            self._offsets(partitions, _LATEST),
        )
        return {p: Bounds(starts[p], ends[p]) for p in partitions if p in starts and p in ends}

    async def offsets_for_time(
        self, partitions: Collection[Partition], epoch_ms: int
    ) -> dict[Partition, int]:
        return await self._offsets(partitions, OffsetSpec.for_timestamp(epoch_ms))

    async def partition_counts(self, topics: Collection[str]) -> dict[str, int | None]:
        if not topics:
            return {}
        futures = self._admin.describe_topics(TopicCollection(list(topics)), **self._kw)
        out: dict[str, int | None] = {}
        for topic, future in futures.items():
            try:
                out[topic] = len((await self._wait(future, f"topic {topic!r}")).partitions)
            except KafkaException:
                out[topic] = None
        return out


def _forget(task: asyncio.Future[Any]) -> None:
    _background.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a failed prefetch is not an error of anyone's


def _assigned(members: Iterable[Member]) -> list[Partition]:
    return [p for m in members for p in m.assignment]


def _state(state: object) -> str:
    return state.name if isinstance(state, ConsumerGroupState) else str(state).upper()
