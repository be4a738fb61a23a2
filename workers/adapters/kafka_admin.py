"""The Kafka Admin API of one cluster (confluent-kafka's AdminClient), in batches.

Each method is one batched round of requests (one describe for every topic, one create for
every missing topic, ...). Failures that a later attempt may not see (timeouts, no broker,
coordinator moves) raise `TransientError`; per-resource refusals that would repeat are returned
to the caller as errors by name. Clients are cached per process and cluster: a SASL handshake
per pass would dominate small reconciles.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException

# The admin classes live in private submodules; the package re-exports them without __all__.
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from workers.adapters.client_quotas import KafkaPythonQuotas, QuotaChanges, Quotas
from workers.outcome import PermanentError, TransientError
from workers.planning.acls import Binding
from workers.planning.topics import ConfigChange, ObservedTopic

# Kafka errors that say "try again later", not "this request is wrong".
_RETRIABLE = {
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._RESOLVE,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError.NOT_CONTROLLER,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.BROKER_NOT_AVAILABLE,
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
}

TopicSpec = tuple[str, int, int, Mapping[str, str]]  # name, partitions, rf, configs


@dataclass(frozen=True)
class ClusterHealth:
    node_ids: frozenset[int]
    controller_id: int | None


@dataclass(frozen=True)
class ScramUser:
    name: str
    password: str
    salt: bytes
    iterations: int


class KafkaAdmin(Protocol):
    """What reconcilers need from a cluster's brokers."""

    def describe_cluster(self) -> ClusterHealth: ...

    def describe_topics(self, names: Collection[str]) -> dict[str, ObservedTopic | None]:
        """Those of `names` the brokers have, with their topic-level configs (None for a topic
        whose configs could not be read). Absent from the result = absent on the brokers."""
        ...

    def create_topics(self, topics: Sequence[TopicSpec]) -> dict[str, str]:
        """Returns name -> error for the topics Kafka refused."""
        ...

    def alter_topic_configs(self, changes: Mapping[str, ConfigChange]) -> dict[str, str]: ...

    def create_partitions(self, counts: Mapping[str, int]) -> dict[str, str]: ...

    def delete_topics(self, names: Sequence[str]) -> dict[str, str]: ...

    def broker_configs(self, node_ids: Collection[int]) -> dict[int, dict[str, str]]:
        """Each broker's dynamic settings (set through the Admin API, per broker)."""
        ...

    def alter_broker_configs(self, changes: Mapping[int, ConfigChange]) -> None: ...

    def describe_acls(self) -> set[Binding]: ...

    def create_acls(self, bindings: Sequence[Binding]) -> dict[Binding, str]: ...

    def delete_acls(self, bindings: Sequence[Binding]) -> dict[Binding, str]: ...

    def scram_users(self) -> set[str]:
        """Users holding a SCRAM-SHA-512 credential."""
        ...

    def upsert_scram(self, users: Sequence[ScramUser]) -> dict[str, str]: ...

    def delete_scram(self, names: Sequence[str]) -> dict[str, str]: ...

    def user_quotas(self) -> Quotas:
        """Client quotas of user entities (user name -> quota key -> value)."""
        ...

    def alter_user_quotas(self, changes: QuotaChanges) -> dict[str, str]:
        """Set (value) or remove (None) quota keys per user; user name -> refusal."""
        ...


def _error(exc: BaseException) -> KafkaError | None:
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0]
    return None


def _retriable(exc: BaseException) -> bool:
    err = _error(exc)
    if err is None:
        # Not a Kafka error: a future timing out, a closed client — try again later.
        return True
    return err.code() in _RETRIABLE or bool(err.retriable())


def _collect(
    futures: Mapping[Any, Future[Any]], timeout: float, ok: set[int] | None = None
) -> dict[Any, str]:
    """Wait for every future; key -> message for refusals, TransientError if any is retriable."""
    errors: dict[Any, str] = {}
    transient: list[str] = []
    for key, future in futures.items():
        try:
            future.result(timeout=timeout)
        except Exception as exc:
            err = _error(exc)
            if ok and err is not None and err.code() in ok:
                continue
            if _retriable(exc):
                transient.append(f"{key}: {exc}")
            else:
                errors[key] = str(err.str() if err is not None else exc)
    if transient:
        raise TransientError(
            f"{len(transient)} Kafka request(s) failed transiently: {transient[0]}"
        )
    return errors


_KAFKA_RT = {
    "TOPIC": ResourceType.TOPIC,
    "GROUP": ResourceType.GROUP,
    "CLUSTER": ResourceType.BROKER,
    "TRANSACTIONAL_ID": ResourceType.TRANSACTIONAL_ID,
}


def _entries(change: ConfigChange) -> list[ConfigEntry]:
    """An incremental alteration: SET each changed key, DELETE each dropped one."""
    entries = [
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
        for k, v in change.set.items()
    ]
    entries += [
        ConfigEntry(k, None, incremental_operation=AlterConfigOpType.DELETE) for k in change.delete
    ]
    return entries


def _name(value: object) -> str:
    return value.name if isinstance(value, Enum) else str(value)


def _to_kafka(b: Binding) -> AclBinding:
    return AclBinding(
        _KAFKA_RT[b.resource_type],
        b.resource_name,
        ResourcePatternType[b.pattern_type],
        b.principal,
        b.host,
        AclOperation[b.operation],
        AclPermissionType[b.permission_type],
    )


def _from_kafka(a: AclBinding) -> Binding | None:
    rt = next((ours for ours, t in _KAFKA_RT.items() if _name(t) == _name(a.restype)), None)
    if rt is None:
        return None
    return Binding(
        rt,
        str(a.name),
        _name(a.resource_pattern_type),
        str(a.principal),
        str(a.host),
        _name(a.operation),
        _name(a.permission_type),
    )


def _filter_of(b: Binding) -> AclBindingFilter:
    k = _to_kafka(b)
    return AclBindingFilter(
        k.restype,
        k.name,
        k.resource_pattern_type,
        k.principal,
        k.host,
        k.operation,
        k.permission_type,
    )


def confluent_config(bootstrap: str, username: str, password: str) -> dict[str, Any]:
    """Settings of a confluent-kafka client authenticated with SCRAM-SHA-512 (as the brokers'
    SASL_PLAINTEXT listener asks)."""
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": username,
        "sasl.password": password,
    }


class ConfluentAdmin:
    """`KafkaAdmin` over confluent-kafka, authenticated as the cluster's control-plane user.
    `writes` counts mutating batches (tests assert that a converged pass makes none)."""

    def __init__(self, bootstrap: str, username: str, password: str, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.bootstrap = bootstrap
        self._client = AdminClient(
            {
                **confluent_config(bootstrap, username, password),
                "socket.timeout.ms": int(timeout * 1000),
                "reconnect.backoff.max.ms": 2000,
                "log_level": 3,
            }
        )
        # Client quotas go through kafka-python (confluent-kafka has no API for them).
        self._quotas = KafkaPythonQuotas(bootstrap, username, password, timeout)
        self.writes = 0

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KafkaException as exc:
            if _retriable(exc):
                raise TransientError(f"kafka: {exc}") from exc
            raise

    def _one(self, future: Future[Any], what: str) -> Any:
        try:
            return future.result(timeout=self.timeout + 2)
        except Exception as exc:
            raise TransientError(f"{what}: {exc}") from exc

    def describe_cluster(self) -> ClusterHealth:
        future = self._call(self._client.describe_cluster, request_timeout=self.timeout)
        result = self._one(future, "describe cluster")
        controller = result.controller.id if result.controller is not None else None
        return ClusterHealth(frozenset(n.id for n in result.nodes), controller)

    def describe_topics(self, names: Collection[str]) -> dict[str, ObservedTopic | None]:
        wanted = set(names)
        try:
            metadata = self._client.list_topics(timeout=self.timeout)
        except KafkaException as exc:
            raise TransientError(f"list topics: {exc}") from exc
        shapes: dict[str, tuple[int, int]] = {}
        for name, topic in metadata.topics.items():
            # Only managed topics are described: others' configs are none of our business.
            if name not in wanted or topic.error is not None:
                continue
            rf = max((len(p.replicas) for p in topic.partitions.values()), default=0)
            shapes[name] = (len(topic.partitions), rf)
        if not shapes:
            return {}
        resources = [ConfigResource(ResourceType.TOPIC, name) for name in shapes]
        futures = self._call(self._client.describe_configs, resources, request_timeout=self.timeout)
        out: dict[str, ObservedTopic | None] = {}
        for resource, future in futures.items():
            name = resource.name
            try:
                entries = future.result(timeout=self.timeout + 2)
            except Exception as exc:
                if _retriable(exc):
                    raise TransientError(f"describe configs of {name}: {exc}") from exc
                out[name] = None
                continue
            configs = {
                key: entry.value
                for key, entry in entries.items()
                if _name(entry.source) == ConfigSource.DYNAMIC_TOPIC_CONFIG.name
                or entry.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
            }
            partitions, rf = shapes[name]
            out[name] = ObservedTopic(
                partitions, rf, {k: v for k, v in configs.items() if v is not None}
            )
        return out

    def create_topics(self, topics: Sequence[TopicSpec]) -> dict[str, str]:
        if not topics:
            return {}
        self.writes += 1
        new = [
            NewTopic(name, num_partitions=p, replication_factor=rf, config=dict(c))
            for name, p, rf, c in topics
        ]
        futures = self._call(
            self._client.create_topics,
            new,
            operation_timeout=self.timeout,
            request_timeout=self.timeout,
        )
        return _collect(futures, self.timeout + 5, ok={KafkaError.TOPIC_ALREADY_EXISTS})

    def alter_topic_configs(self, changes: Mapping[str, ConfigChange]) -> dict[str, str]:
        if not changes:
            return {}
        self.writes += 1
        resources = []
        for name, change in changes.items():
            resources.append(
                ConfigResource(ResourceType.TOPIC, name, incremental_configs=_entries(change))
            )
        futures = self._call(
            self._client.incremental_alter_configs, resources, request_timeout=self.timeout
        )
        return {r.name: msg for r, msg in _collect(futures, self.timeout + 5).items()}

    def create_partitions(self, counts: Mapping[str, int]) -> dict[str, str]:
        if not counts:
            return {}
        self.writes += 1
        futures = self._call(
            self._client.create_partitions,
            [NewPartitions(name, count) for name, count in counts.items()],
            operation_timeout=self.timeout,
            request_timeout=self.timeout,
        )
        return _collect(futures, self.timeout + 5)

    def delete_topics(self, names: Sequence[str]) -> dict[str, str]:
        if not names:
            return {}
        self.writes += 1
        futures = self._call(
            self._client.delete_topics,
            list(names),
            operation_timeout=self.timeout,
            request_timeout=self.timeout,
        )
        return _collect(futures, self.timeout + 5, ok={KafkaError.UNKNOWN_TOPIC_OR_PART})

    def broker_configs(self, node_ids: Collection[int]) -> dict[int, dict[str, str]]:
        # One call per broker: the client library allows one BROKER resource per request (and
        # refuses the cluster-wide default resource "").
        source = ConfigSource.DYNAMIC_BROKER_CONFIG
        out: dict[int, dict[str, str]] = {}
        for node_id in sorted(node_ids):
            resource = ConfigResource(ResourceType.BROKER, str(node_id))
            futures = self._call(
                self._client.describe_configs, [resource], request_timeout=self.timeout
            )
            entries = self._one(next(iter(futures.values())), f"describe broker {node_id}")
            out[node_id] = {
                key: entry.value
                for key, entry in entries.items()
                if entry.value is not None
                and (_name(entry.source) == source.name or entry.source == source.value)
            }
        return out

    def alter_broker_configs(self, changes: Mapping[int, ConfigChange]) -> None:
        for node_id, change in sorted(changes.items()):
            if not (change.set or change.delete):
                continue
            self.writes += 1
            resource = ConfigResource(
                ResourceType.BROKER, str(node_id), incremental_configs=_entries(change)
            )
            futures = self._call(
                self._client.incremental_alter_configs, [resource], request_timeout=self.timeout
            )
            errors = _collect(futures, self.timeout + 5)
            if errors:
                message = next(iter(errors.values()))
                raise PermanentError("KAFKA_REFUSED", f"broker {node_id} settings: {message}")

    def describe_acls(self) -> set[Binding]:
        # None in a filter matches anything (the stubs type these fields as str).
        anything: Any = None
        flt = AclBindingFilter(
            ResourceType.ANY,
            anything,
            ResourcePatternType.ANY,
            anything,
            anything,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
        future = self._call(self._client.describe_acls, flt, request_timeout=self.timeout)
        found = self._one(future, "describe acls")
        return {b for b in (_from_kafka(a) for a in found) if b is not None}

    def create_acls(self, bindings: Sequence[Binding]) -> dict[Binding, str]:
        if not bindings:
            return {}
        self.writes += 1
        by_kafka = {_to_kafka(b): b for b in bindings}
        futures = self._call(self._client.create_acls, list(by_kafka), request_timeout=self.timeout)
        return {by_kafka[k]: v for k, v in _collect(futures, self.timeout + 5).items()}

    def delete_acls(self, bindings: Sequence[Binding]) -> dict[Binding, str]:
        if not bindings:
            return {}
        self.writes += 1
        filters = {_filter_of(b): b for b in bindings}
        futures = self._call(self._client.delete_acls, list(filters), request_timeout=self.timeout)
        return {filters[k]: v for k, v in _collect(futures, self.timeout + 5).items()}

    def scram_users(self) -> set[str]:
        future = self._call(
            self._client.describe_user_scram_credentials, request_timeout=self.timeout
        )
        described = self._one(future, "describe SCRAM credentials")
        return {
            name
            for name, desc in described.items()
            if any(
                _name(i.mechanism) == ScramMechanism.SCRAM_SHA_512.name
                for i in desc.scram_credential_infos
            )
        }

    def upsert_scram(self, users: Sequence[ScramUser]) -> dict[str, str]:
        if not users:
            return {}
        self.writes += 1
        alterations = [
            UserScramCredentialUpsertion(
                u.name,
                ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, u.iterations),
                u.password.encode(),
                u.salt,
            )
            for u in users
        ]
        futures = self._call(
            self._client.alter_user_scram_credentials, alterations, request_timeout=self.timeout
        )
        return _collect(futures, self.timeout + 5)

    def delete_scram(self, names: Sequence[str]) -> dict[str, str]:
        if not names:
            return {}
        self.writes += 1
        alterations = [UserScramCredentialDeletion(n, ScramMechanism.SCRAM_SHA_512) for n in names]
        futures = self._call(
            self._client.alter_user_scram_credentials, alterations, request_timeout=self.timeout
        )
        return _collect(futures, self.timeout + 5, ok={KafkaError.RESOURCE_NOT_FOUND})

    def user_quotas(self) -> Quotas:
        return self._quotas.user_quotas()

    def alter_user_quotas(self, changes: QuotaChanges) -> dict[str, str]:
        if not any(changes.values()):
            return {}
        self.writes += 1
        return self._quotas.alter_user_quotas(changes)

    def close(self) -> None:
        self._quotas.close()


_cache: dict[tuple[str, str], ConfluentAdmin] = {}
_cache_lock = threading.Lock()


def admin_for(bootstrap: str, username: str, password: str, timeout: float) -> ConfluentAdmin:
    """A cached client per (bootstrap, credential) in this process."""
    key = (bootstrap, password)
    with _cache_lock:
        client = _cache.get(key)
        if client is None:
            client = _cache[key] = ConfluentAdmin(bootstrap, username, password, timeout)
        return client


def forget(bootstrap: str) -> None:
    """Drop cached clients of a cluster (its brokers moved, or it is gone)."""
    with _cache_lock:
        for key in [k for k in _cache if k[0] == bootstrap]:
            _cache.pop(key).close()
