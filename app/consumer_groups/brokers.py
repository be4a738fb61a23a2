"""Live reads of a cluster's consumer groups, from its brokers (the Kafka Admin API through
confluent-kafka): the API's only Kafka client, read-only by design (resets and deletions are
Operations the workers carry out).

Consumer groups are not desired state: they live on the brokers, so a GET asks the brokers.
Each read has a short timeout, and a broker that does not answer in time is a 503 with
Retry-After (`BrokersUnavailable`), never a 500. Reads for GET and list are cached for
`CACHE_SECONDS` per cluster (the group listing, and the groups read with their offsets),
and concurrent identical reads share one request, so that a console refreshing
1,000 groups does not multiply requests to the brokers; a mutation reads `fresh`. A list
reads a small listing whole at its first page (service.observe) and describes only the
groups whose description Kafka does not fix (`Brokers.observe`); a larger listing is read a
page at a time, the next page read ahead (`prefetch`).

The client logs in as the control plane's own principal, whose password is derived from the
control plane's secret and the cluster's uid exactly as the workers derive it (one
definition, app.core.secrets), so the API needs no access to the cluster's Kubernetes Secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from confluent_kafka import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
    KafkaError,
    KafkaException,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from app.consumer_groups.views import (
    EMPTY,
    Bounds,
    Member,
    ObservedGroup,
    Partition,
    offsets_partition,
)
from app.core.errors import ApiError
from app.core.secrets import ADMIN_USERNAME
from app.models.base import utcnow

TIMEOUT_SECONDS = 5.0
CACHE_SECONDS = 2.0
# A listing of at most this many groups is read whole on its first page (service.observe):
# 2,000 groups are 4,000 requests sent at once, answered well within TIMEOUT_SECONDS.
WAVE_GROUPS = 2000
RETRY_AFTER_SECONDS = 2
OFFSETS_TOPIC = "__consumer_offsets"
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
    """A group as ListConsumerGroups names it. `classic`: the classic group protocol (not
    KIP-848's), whose EMPTY groups `observe` need not describe."""

    group_id: str
    state: str
    simple: bool = False
    classic: bool = False


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


async def _settled(futures: Collection[Future[Any]], what: str) -> None:
    """Wait until every future is done, with one wake-up of the event loop for all of them
    (their callbacks run on confluent-kafka's threads and count down), not one per future: a
    listing of 1,000 groups is 2,000 futures. Not all done in time: BrokersUnavailable."""
    if not futures:
        return
    loop = asyncio.get_running_loop()
    settled: asyncio.Future[None] = loop.create_future()
    remaining = len(futures)
    lock = threading.Lock()

    def resolve() -> None:
        if not settled.done():  # not already given up (a timeout)
            settled.set_result(None)

    def one_done(_: Future[Any]) -> None:
        nonlocal remaining
        with lock:
            remaining -= 1
            last = remaining == 0
        if last:
            # RuntimeError: the loop is gone (shutdown), nobody waits any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(resolve)

    for future in futures:
        future.add_done_callback(one_done)
    try:
        await asyncio.wait_for(settled, TIMEOUT_SECONDS + 1)
    except TimeoutError:
        raise BrokersUnavailable(f"the brokers did not answer {what} in time") from None


def _result(future: Future[T], what: str) -> T:
    """A settled future's result; a KafkaException saying the group or partition does not
    exist is raised as is (the caller says what that means), any other is a 503."""
    try:
        return future.result(timeout=0)
    except KafkaException as exc:
        err = _kafka_error(exc)
        if err is not None and err.code() in _ABSENT:
            raise
        raise BrokersUnavailable(f"the brokers did not answer {what}: {exc}") from None


class Brokers:
    """The brokers of one cluster, as the API reads them. Every read sends all its requests
    at once and waits for them together (`_settled`)."""

    def __init__(self, cluster_uid: uuid.UUID, bootstrap: str, password: str) -> None:
        self.cluster_uid = cluster_uid
        self._admin = _client(bootstrap, password)
        self._kw = {"request_timeout": TIMEOUT_SECONDS}

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
            future = self._admin.list_consumer_groups(**self._kw)
            await _settled([future], "the group listing")
            result = _result(future, "the group listing")
            if result.errors:
                raise BrokersUnavailable(
                    f"{len(result.errors)} broker(s) did not list their groups: {result.errors[0]}"
                )
            return sorted(
                (
                    Listing(
                        g.group_id,
                        _state(g.state),
                        simple=bool(g.is_simple_consumer_group),
                        classic=g.type == ConsumerGroupType.CLASSIC,
                    )
                    for g in result.valid
                ),
                key=lambda g: g.group_id,
            )

        return await self._cached(("list",), fresh, read)

    async def describe(self, group_ids: list[str], fresh: bool = False) -> list[ObservedGroup]:
        """The groups (those the brokers know; a missing one is left out), each described by
        the brokers, with its committed offsets and their partitions' log end offsets."""
        return await self._cached(
            ("groups", tuple(group_ids)), fresh, lambda: self._read(group_ids, {})
        )

    async def observe(self, listings: list[Listing]) -> list[ObservedGroup]:
        """What `describe` answers for the listed groups, without a DescribeGroups request
        for an EMPTY classic group: the classic protocol describes a group that is not STABLE
        with no protocol, an EMPTY group has no member, and `simple` is in the listing — its
        description would add only its coordinator, the leader of the group's partition of
        __consumer_offsets (`views.offsets_partition`, Kafka's rule), read in one request
        beside the offsets. Any other group (members, another state, KIP-848's protocol), and
        every group when that leader is not known, is described."""
        ids = [g.group_id for g in listings]
        empty = {g.group_id: g for g in listings if g.state == EMPTY and g.classic}
        return await self._cached(("observe", tuple(ids)), False, lambda: self._read(ids, empty))

    async def _read(
        self, group_ids: list[str], empty: Mapping[str, Listing]
    ) -> list[ObservedGroup]:
        """The description of every group but those of `empty` (EMPTY classic groups), the
        offsets of every group (one request each: Kafka's Admin API has no batch of them)
        and, when `empty` is not, the leaders of __consumer_offsets, all sent at once; then
        one ListOffsets for all their partitions."""
        descriptions = self._describe_requests([g for g in group_ids if g not in empty])
        commits = {g: self._commit_request(g) for g in group_ids}
        leaders = self._offsets_topic_request() if empty else None
        await _settled(
            [*descriptions.values(), *commits.values(), *([leaders] if leaders else [])],
            "the groups' descriptions",
        )
        coordinators = _leaders(leaders) if leaders else []
        known = {
            g: group
            for g in (empty if coordinators else ())
            if (group := _listed(empty[g], coordinators)) is not None
        }
        unknown = [g for g in empty if g not in known]
        if unknown:  # no leader known: describe them after all
            more = self._describe_requests(unknown)
            await _settled(more.values(), "the groups' descriptions")
            descriptions |= more
        offsets = {g: _committed(g, f) for g, f in commits.items()}
        groups = [
            d
            for g in group_ids
            if (d := known[g] if g in known else _described(g, descriptions[g])) is not None
        ]
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

    def _offsets_topic_request(self) -> Future[Any]:
        futures = self._admin.describe_topics(TopicCollection([OFFSETS_TOPIC]), **self._kw)
        future: Future[Any] = futures[OFFSETS_TOPIC]
        return future

    def prefetch(self, listings: list[Listing]) -> None:
        """Start `observe(listings)` into the cache without waiting for it (a failure is
        dropped: the request that needs the page reads it again)."""
        if listings:
            task = asyncio.ensure_future(self.observe(listings))
            _background.add(task)  # the loop holds tasks weakly
            task.add_done_callback(_forget)

    def _describe_requests(self, group_ids: list[str]) -> dict[str, Future[Any]]:
        if not group_ids:
            return {}
        futures: dict[str, Future[Any]] = self._admin.describe_consumer_groups(
            group_ids, **self._kw
        )
        return futures

    def _commit_request(self, group_id: str) -> Future[Any]:
        request = [ConsumerGroupTopicPartitions(group_id)]
        future: Future[Any] = self._admin.list_consumer_group_offsets(request, **self._kw)[group_id]
        return future

    async def state_of(self, group_id: str) -> str | None:
        """The group's state now (no cache); None when the brokers do not have it."""
        future = self._describe_requests([group_id])[group_id]
        await _settled([future], f"the description of group {group_id!r}")
        described = _described(group_id, future)
        return None if described is None else described.state

    async def committed(self, group_id: str) -> dict[Partition, int | None]:
        future = self._commit_request(group_id)
        await _settled([future], f"the offsets of group {group_id!r}")
        return _committed(group_id, future)

    async def _offsets(self, partitions: Iterable[Partition], spec: Any) -> dict[Partition, int]:
        """The brokers' answer to ListOffsets for each partition (left out: no such partition)."""
        wanted = {TopicPartition(p.topic, p.partition): spec for p in partitions}
        if not wanted:
            return {}
        futures = self._admin.list_offsets(wanted, **self._kw)
        await _settled(futures.values(), "the log offsets")
        out: dict[Partition, int] = {}
        for tp, future in futures.items():
            try:
                out[_partition(tp)] = _result(future, "the log offsets").offset
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
        await _settled(futures.values(), "the topics")
        out: dict[str, int | None] = {}
        for topic, future in futures.items():
            try:
                out[topic] = len(_result(future, f"topic {topic!r}").partitions)
            except KafkaException:
                out[topic] = None
        return out


def _described(group_id: str, future: Future[Any]) -> ObservedGroup | None:
    """A settled description as an ObservedGroup without offsets; None for a group the
    brokers do not have."""
    try:
        d = _result(future, f"the description of group {group_id!r}")
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


def _leaders(future: Future[Any]) -> list[int | None]:
    """The leader of each partition of __consumer_offsets, by partition ([] when unknown)."""
    try:
        topic = future.result(timeout=0)
    except KafkaException:
        return []
    leaders: dict[int, int | None] = {
        p.id: p.leader.id if p.leader is not None and p.leader.id >= 0 else None
        for p in topic.partitions
    }
    return [leaders.get(n) for n in range(len(leaders))]


def _listed(listing: Listing, leaders: list[int | None]) -> ObservedGroup | None:
    """An EMPTY classic group as its description would say it; None when the leader of its
    partition of __consumer_offsets is not known (then it is described)."""
    coordinator = leaders[offsets_partition(listing.group_id, len(leaders))]
    if coordinator is None:
        return None
    return ObservedGroup(
        group_id=listing.group_id,
        state=EMPTY,
        protocol="",
        simple=listing.simple,
        coordinator=coordinator,
        members=(),
        committed={},
        log_end={},
        observe_time=utcnow(),
    )


def _committed(group_id: str, future: Future[Any]) -> dict[Partition, int | None]:
    """A settled OffsetFetch: each partition's committed offset (None: none committed); {}
    for a group the brokers do not have."""
    try:
        result = _result(future, f"the offsets of group {group_id!r}")
    except KafkaException:
        return {}
    return {
        _partition(tp): None if tp.offset == _NO_OFFSET else tp.offset
        for tp in result.topic_partitions or []
    }


def _forget(task: asyncio.Future[Any]) -> None:
    _background.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a failed prefetch is not an error of anyone's


def _assigned(members: Iterable[Member]) -> list[Partition]:
    return [p for m in members for p in m.assignment]


def _state(state: object) -> str:
    return state.name if isinstance(state, ConsumerGroupState) else str(state).upper()
