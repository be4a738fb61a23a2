"""Partition placement on a cluster's brokers: the Admin APIs confluent-kafka lacks.

kafka-python's `KafkaAdminClient` sends AlterPartitionReassignments,
ListPartitionReassignments, ElectLeaders and DescribeLogDirs; this module wraps the few calls
the scaling step needs in typed methods. Failures that a later pass may not see (timeouts, a
broker or the controller moving) raise `TransientError`; per-partition refusals are returned
by partition. Clients are cached per process and cluster, like the confluent-kafka ones.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kafka import TopicPartition as KafkaTopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from app.core.secrets import ADMIN_USERNAME
from workers.adapters.kafka_python import client_config, close_quietly
from workers.config import get_worker_settings
from workers.outcome import TransientError
from workers.planning.scaling import TopicPartition


@dataclass(frozen=True)
class Topology:
    """Every topic's partitions as the brokers' metadata lists them (internal topics too)."""

    replicas: dict[TopicPartition, tuple[int, ...]]
    internal: frozenset[str]


@dataclass(frozen=True)
class InFlight:
    """A partition being moved: its target replicas and the ones still being added/removed."""

    replicas: tuple[int, ...]
    adding: tuple[int, ...]
    removing: tuple[int, ...]


class Reassigner(Protocol):
    def topology(self) -> Topology: ...

    def in_flight(self) -> dict[TopicPartition, InFlight]: ...

    def reassign(self, moves: Mapping[TopicPartition, Sequence[int]]) -> dict[TopicPartition, str]:
        """Start moving each partition to its new replica list (preferred leader first);
        returns the partitions Kafka refused, with the reason."""
        ...

    def elect_preferred_leaders(self, partitions: Collection[TopicPartition] | None) -> None:
        """Preferred-leader election of `partitions` (None: every partition)."""
        ...

    def log_dir_partitions(self, brokers: Collection[int]) -> dict[int, int]:
        """Per broker, how many partition logs its log directories still hold."""
        ...

    def registered_brokers(self) -> dict[int, bool]:
        """Every broker registered in the cluster's metadata -> whether it is fenced."""
        ...


class KafkaPythonReassigner:
    """`Reassigner` over kafka-python, authenticated as the cluster's control-plane user.
    `writes` counts mutating requests (tests assert that a converged pass makes none)."""

    def __init__(self, bootstrap: str, username: str, password: str, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.writes = 0
        self._config = client_config(bootstrap, username, password, timeout)
        self._config["bootstrap_timeout_ms"] = int(timeout * 1000)
        self._client: Any = None
        self._lock = threading.Lock()

    def _admin(self) -> Any:
        if self._client is None:
            try:
                self._client = KafkaAdminClient(**self._config)
            except Exception as exc:
                raise TransientError(f"kafka admin connect: {exc}") from exc
        return self._client

    def _run(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            try:
                return fn(self._admin(), *args, **kwargs)
            except TransientError:
                raise
            except (KafkaError, OSError, TimeoutError) as exc:
                self._drop()
                raise TransientError(f"{what}: {exc!r}") from exc

    def _drop(self) -> None:
        client, self._client = self._client, None
        close_quietly(client)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def topology(self) -> Topology:
        topics = self._run("describe topics", lambda a: a.describe_topics())
        replicas: dict[TopicPartition, tuple[int, ...]] = {}
        internal: set[str] = set()
        for topic in topics:
            name = str(topic["name"])
            if topic.get("error_code"):
                raise TransientError(f"describe topic {name}: error {topic['error_code']}")
            if topic.get("is_internal") or name.startswith("__"):
                internal.add(name)
            for p in topic["partitions"]:
                replicas[(name, int(p["partition_index"]))] = tuple(
                    int(b) for b in p["replica_nodes"]
                )
        return Topology(replicas, frozenset(internal))

    def in_flight(self) -> dict[TopicPartition, InFlight]:
        found = self._run(
            "list partition reassignments",
            lambda a: a.list_partition_reassignments(timeout_ms=int(self.timeout * 1000)),
        )
        return {
            (str(tp.topic), int(tp.partition)): InFlight(
                tuple(v["replicas"]), tuple(v["adding_replicas"]), tuple(v["removing_replicas"])
            )
            for tp, v in found.items()
        }

    def reassign(self, moves: Mapping[TopicPartition, Sequence[int]]) -> dict[TopicPartition, str]:
        if not moves:
            return {}
        self.writes += 1
        request = {KafkaTopicPartition(t, p): list(r) for (t, p), r in moves.items()}
        result = self._run(
            "alter partition reassignments",
            lambda a: a.alter_partition_reassignments(request, timeout_ms=int(self.timeout * 1000)),
        )
        return {
            (str(tp.topic), int(tp.partition)): getattr(err, "__name__", str(err))
            for tp, err in result.items()
            if err is not None
        }

    def elect_preferred_leaders(self, partitions: Collection[TopicPartition] | None) -> None:
        if partitions is not None and not partitions:
            return
        self.writes += 1
        by_topic: dict[str, list[int]] | None = None
        if partitions is not None:
            by_topic = {}
            for topic, partition in sorted(partitions):
                by_topic.setdefault(topic, []).append(partition)
        # Election not needed / not possible right now is no error: leaders follow later.
        self._run(
            "elect preferred leaders",
            lambda a: a.elect_leaders(
                0, by_topic, timeout_ms=int(self.timeout * 1000), raise_errors=False
            ),
        )

    def log_dir_partitions(self, brokers: Collection[int]) -> dict[int, int]:
        if not brokers:
            return {}
        found = self._run(
            "describe log dirs", lambda a: a.describe_log_dirs(brokers=sorted(brokers))
        )
        out = {b: 0 for b in brokers}
        for entry in found:
            broker = int(entry["broker"])
            for log_dir in entry["log_dirs"]:
                for topic in log_dir.get("topics", []):
                    out[broker] = out.get(broker, 0) + len(topic.get("partitions", []))
        return out

    def registered_brokers(self) -> dict[int, bool]:
        # DescribeCluster with fenced brokers included (KIP-1073).
        found = self._run("describe cluster", lambda a: a.describe_cluster())
        return {int(b["broker_id"]): bool(b.get("is_fenced")) for b in found.get("brokers", [])}


_cache: dict[tuple[str, str], KafkaPythonReassigner] = {}
_cache_lock = threading.Lock()


def reassigner_for(
    bootstrap: str, username: str, password: str, timeout: float
) -> KafkaPythonReassigner:
    """A cached client per (bootstrap, credential) in this process; a client of the same
    cluster under another bootstrap list (brokers came or went) is closed."""
    key = (bootstrap, password)
    with _cache_lock:
        client = _cache.get(key)
        if client is None:
            for old in [k for k in _cache if k[1] == password]:
                _cache.pop(old).close()
            client = _cache[key] = KafkaPythonReassigner(bootstrap, username, password, timeout)
        return client


def reassigner(bootstrap: str, password: str) -> KafkaPythonReassigner:
    """The worker's factory: the control plane's user, the worker's Kafka timeout."""
    timeout = get_worker_settings().kafka_timeout_seconds
    return reassigner_for(bootstrap, ADMIN_USERNAME, password, timeout)
