"""What the roller reads from and writes to a cluster's brokers, over kafka-python.

confluent-kafka has no DescribeQuorum, DescribeFeatures or UpdateFeatures; kafka-python (a
maintained client) has them, and its metadata call gives every partition's replicas and ISR.
Every failure is transient to the roller: it then simply does not restart anything this pass.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from app.core.secrets import ADMIN_USERNAME
from workers.adapters.kafka_python import client_config, close_quietly
from workers.outcome import TransientError
from workers.planning.roller import PartitionFacts, QuorumFacts

T = TypeVar("T")
METADATA_VERSION = "metadata.version"


@dataclass(frozen=True)
class FeatureLevels:
    """metadata.version: the finalized level and the highest level the brokers support."""

    finalized: int
    supported_max: int


class RollAdmin(Protocol):
    def quorum(self) -> QuorumFacts:
        """The metadata quorum's leader (the active controller) and each voter's lag."""
        ...

    def partitions(self) -> list[PartitionFacts]:
        """Every partition's replicas and ISR, with its topic's effective min.insync.replicas."""
        ...

    def metadata_version(self) -> FeatureLevels: ...

    def finalize_metadata_version(self, level: int) -> None:
        """Raise the finalized metadata.version to `level` (an upgrade, never a downgrade)."""
        ...


class KafkaPythonRollAdmin:
    """`RollAdmin` over kafka-python's KafkaAdminClient, as the control plane's super user."""

    def __init__(self, bootstrap: str, username: str, password: str, timeout: float) -> None:
        self.bootstrap = bootstrap
        try:
            config = client_config(bootstrap, username, password, timeout, "kplane-roller")
            self._client = KafkaAdminClient(**config, bootstrap_timeout_ms=int(timeout * 1000))
        except Exception as exc:
            raise TransientError(f"kafka (roller client): {exc}") from exc

    def _call(
        self, what: str, fn: Callable[..., T], *args: Any, attempts: int = 3, **kwargs: Any
    ) -> T:
        # The client sends to the least loaded broker it knows; one that is stopped (the very
        # case a roll must report) times out, and the next attempt goes to another broker.
        # Every call here is safe to repeat.
        for attempt in range(attempts):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if attempt == attempts - 1:
                    raise TransientError(f"{what}: {exc}") from exc
        raise AssertionError("unreachable")

    def quorum(self) -> QuorumFacts:
        found = self._call("describe quorum", self._client.describe_metadata_quorum)
        part = found["topics"][0]["partitions"][0]
        hwm = int(part["high_watermark"])
        lag = {
            int(v["replica_id"]): max(0, hwm - int(v["log_end_offset"]))
            for v in part["current_voters"]
        }
        return QuorumFacts(leader_id=int(part["leader_id"]), lag=lag)

    def partitions(self) -> list[PartitionFacts]:
        topics = self._call("describe topics", self._client.describe_topics)
        listed = [t["name"] for t in topics if t.get("error_code", 0) == 0]
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, name, ["min.insync.replicas"])
            for name in listed
        ]
        configs: dict[str, Any] = {}
        if resources:
            found = self._call(
                "describe topic configs",
                self._client.describe_configs,
                resources,
                config_filter="all",
            )
            configs = found.get("topic", {})
        out = []
        for t in topics:
            if t["name"] not in listed:
                continue
            entry = configs.get(t["name"], {}).get("min.insync.replicas") or {}
            min_isr = int(entry.get("value") or 1)
            for p in t["partitions"]:
                out.append(
                    PartitionFacts(
                        topic=t["name"],
                        partition=int(p["partition_index"]),
                        replicas=tuple(int(r) for r in p["replica_nodes"]),
                        isr=tuple(int(r) for r in p["isr_nodes"]),
                        min_isr=min_isr,
                    )
                )
        return out

    def metadata_version(self) -> FeatureLevels:
        features = self._call("describe features", self._client.describe_features)
        mv = features.get(METADATA_VERSION, {})
        finalized = mv.get("finalized", (0, 0))[1]
        supported = mv.get("supported", (0, 0))[1]
        return FeatureLevels(int(finalized), int(supported))

    def finalize_metadata_version(self, level: int) -> None:
        result = self._call(
            "update features", self._client.update_features, {METADATA_VERSION: level}
        )
        if result.get(METADATA_VERSION) != "OK":
            raise TransientError(f"finalizing metadata.version {level}: {result}")

    def close(self) -> None:
        close_quietly(self._client)


@contextlib.contextmanager
def roll_admin(bootstrap: str, password: str, timeout: float) -> Iterator[KafkaPythonRollAdmin]:
    """A client for one roll pass as the control plane's principal, closed afterwards: rolls
    are rare, and a cached client would keep reconnecting to the very brokers the roll
    restarts."""
    servers = bootstrap.split(",")
    client: KafkaPythonRollAdmin | None = None
    for attempt in range(min(3, len(servers))):
        # A stopped broker accepts connections but never answers: start from another one.
        rotated = ",".join(servers[attempt:] + servers[:attempt])
        try:
            client = KafkaPythonRollAdmin(rotated, ADMIN_USERNAME, password, timeout)
            break
        except TransientError:
            if attempt == min(3, len(servers)) - 1:
                raise
    assert client is not None
    try:
        yield client
    finally:
        client.close()
