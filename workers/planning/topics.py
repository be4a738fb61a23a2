"""PURE: the topic diff of one cluster.

Only topics kplane manages (rows of the cluster's `topics`) are ever planned; every other topic
on the brokers is invisible here. An observation of None means "could not describe" and plans
nothing for that topic — never a create or a delete on a guess.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from workers.planning.scaling import THROTTLE_TOPIC_KEYS


@dataclass(frozen=True)
class DesiredTopic:
    uid: uuid.UUID
    name: str
    partitions: int
    replication_factor: int
    configs: Mapping[str, str]
    generation: int
    observed_generation: int
    deleting: bool = False


@dataclass(frozen=True)
class ObservedTopic:
    partitions: int
    replication_factor: int
    # Topic-level overrides only (source DYNAMIC_TOPIC_CONFIG): what kplane or someone set.
    configs: Mapping[str, str]


@dataclass
class ConfigChange:
    set: dict[str, str] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)


@dataclass
class TopicPlan:
    create: list[DesiredTopic] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    partitions: dict[str, int] = field(default_factory=dict)
    alter: dict[str, ConfigChange] = field(default_factory=dict)
    # Topics being deleted that the brokers no longer have: their rows can go.
    gone: list[uuid.UUID] = field(default_factory=list)
    # Out-of-band changes found on topics that had converged: uid -> what was found.
    drift: dict[uuid.UUID, list[str]] = field(default_factory=dict)
    # Differences kplane cannot revert (Kafka cannot shrink partitions or change RF here).
    blocked: dict[uuid.UUID, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.create or self.delete or self.partitions or self.alter)


def normalise(key: str, value: str) -> str:
    """Kafka may return list values in another order (`compact,delete`)."""
    if key == "cleanup.policy":
        return ",".join(sorted(v.strip() for v in value.split(",")))
    return value.strip()


def config_change(desired: Mapping[str, str], actual: Mapping[str, str]) -> ConfigChange:
    change = ConfigChange()
    for key, value in sorted(desired.items()):
        if key not in actual or normalise(key, actual[key]) != normalise(key, value):
            change.set[key] = value
    change.delete = sorted(k for k in actual if k not in desired)
    return change


def plan(
    desired: Sequence[DesiredTopic], observed: Mapping[str, ObservedTopic | None]
) -> TopicPlan:
    """The actions that make the brokers match `desired`. `observed` must hold every topic
    the brokers listed (None for one whose configs could not be read)."""
    out = TopicPlan()
    for topic in desired:
        present = topic.name in observed
        seen = observed.get(topic.name)
        if topic.deleting:
            if present:
                out.delete.append(topic.name)
            else:
                out.gone.append(topic.uid)
            continue
        if not present:
            out.create.append(topic)
            if topic.observed_generation == topic.generation:
                out.drift.setdefault(topic.uid, []).append("the topic was deleted outside kplane")
            continue
        if seen is None:
            continue
        found: list[str] = []
        if seen.partitions < topic.partitions:
            out.partitions[topic.name] = topic.partitions
            found.append(f"partitions {seen.partitions} (want {topic.partitions})")
        elif seen.partitions > topic.partitions:
            out.blocked[topic.uid] = (
                f"the topic has {seen.partitions} partitions, more than the {topic.partitions} "
                "desired; Kafka cannot remove partitions"
            )
        if seen.replication_factor != topic.replication_factor:
            out.blocked[topic.uid] = (
                f"the topic has replication factor {seen.replication_factor}, "
                f"not {topic.replication_factor}"
            )
        # Replication throttles are the scaling step's, set while replicas move.
        actual = {k: v for k, v in seen.configs.items() if k not in THROTTLE_TOPIC_KEYS}
        change = config_change(topic.configs, actual)
        if change.set or change.delete:
            out.alter[topic.name] = change
            found += [f"config {k}" for k in [*change.set, *change.delete]]
        if found and topic.observed_generation == topic.generation:
            out.drift[topic.uid] = found
    return out
