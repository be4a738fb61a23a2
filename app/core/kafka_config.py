"""The Kafka settings users may set, each with a type and a range.

One table serves the API (validation), the workers (what to push) and the roller (whether a
broker setting changes dynamically or needs a rolling restart). Values are strings, as Kafka's
own configs are, so a read returns exactly what was written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from app.core.errors import FieldViolation
from app.core.settings import get_settings

LONG_MAX = 2**63 - 1
INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class ConfigSpec:
    kind: str  # int | long | double | bool | enum | enum-list
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    # Broker settings only: True when Kafka can change it on a running broker without restart.
    dynamic: bool = False
    doc: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


COMPRESSION = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")

TOPIC_CONFIGS: dict[str, ConfigSpec] = {
    "cleanup.policy": ConfigSpec("enum-list", choices=("delete", "compact")),
    "compression.type": ConfigSpec("enum", choices=COMPRESSION),
    "delete.retention.ms": ConfigSpec("long", 0, LONG_MAX),
    "file.delete.delay.ms": ConfigSpec("long", 0, LONG_MAX),
    "flush.messages": ConfigSpec("long", 1, LONG_MAX),
    "flush.ms": ConfigSpec("long", 0, LONG_MAX),
    "index.interval.bytes": ConfigSpec("int", 0, INT_MAX),
    "max.compaction.lag.ms": ConfigSpec("long", 1, LONG_MAX),
    "max.message.bytes": ConfigSpec("int", 0, 100 * 1024 * 1024),
    "message.timestamp.type": ConfigSpec("enum", choices=("CreateTime", "LogAppendTime")),
    "min.cleanable.dirty.ratio": ConfigSpec("double", 0, 1),
    "min.compaction.lag.ms": ConfigSpec("long", 0, LONG_MAX),
    "min.insync.replicas": ConfigSpec("int", 1, 100),
    "retention.bytes": ConfigSpec("long", -1, LONG_MAX),
    "retention.ms": ConfigSpec("long", -1, LONG_MAX),
    "segment.bytes": ConfigSpec("int", 1024 * 1024, 1024 * 1024 * 1024),
    "segment.index.bytes": ConfigSpec("int", 4096, INT_MAX),
    "segment.jitter.ms": ConfigSpec("long", 0, LONG_MAX),
    "segment.ms": ConfigSpec("long", 1, LONG_MAX),
    "unclean.leader.election.enable": ConfigSpec("bool"),
}

BROKER_CONFIGS: dict[str, ConfigSpec] = {
    "auto.create.topics.enable": ConfigSpec("bool"),
    "compression.type": ConfigSpec("enum", choices=COMPRESSION, dynamic=True),
    "default.replication.factor": ConfigSpec("int", 1, 10),
    "log.cleaner.threads": ConfigSpec("int", 1, 32, dynamic=True),
    "log.retention.bytes": ConfigSpec("long", -1, LONG_MAX, dynamic=True),
    "log.retention.ms": ConfigSpec("long", -1, LONG_MAX, dynamic=True),
    "log.segment.bytes": ConfigSpec("int", 14, INT_MAX, dynamic=True),
    "message.max.bytes": ConfigSpec("int", 0, 100 * 1024 * 1024, dynamic=True),
    "min.insync.replicas": ConfigSpec("int", 1, 10, dynamic=True),
    "num.io.threads": ConfigSpec("int", 1, 64, dynamic=True),
    "num.network.threads": ConfigSpec("int", 1, 64, dynamic=True),
    "num.partitions": ConfigSpec("int", 1, 10000, dynamic=True),
    "num.replica.fetchers": ConfigSpec("int", 1, 32, dynamic=True),
    "offsets.retention.minutes": ConfigSpec("int", 1, INT_MAX),
    "replica.lag.time.max.ms": ConfigSpec("long", 1000, LONG_MAX),
    "socket.receive.buffer.bytes": ConfigSpec("int", -1, INT_MAX),
    "socket.send.buffer.bytes": ConfigSpec("int", -1, INT_MAX),
    "transaction.max.timeout.ms": ConfigSpec("int", 1, INT_MAX),
    "unclean.leader.election.enable": ConfigSpec("bool", dynamic=True),
}


def _check(spec: ConfigSpec, value: str) -> str | None:
    """None when `value` is valid for `spec`, else why not."""
    if spec.kind == "bool":
        return None if value in ("true", "false") else 'must be "true" or "false"'
    if spec.kind == "enum":
        return None if value in spec.choices else f"must be one of {', '.join(spec.choices)}"
    if spec.kind == "enum-list":
        items = [v.strip() for v in value.split(",")]
        if not items or any(i not in spec.choices for i in items) or len(set(items)) != len(items):
            return f"must be a comma-separated list of {', '.join(spec.choices)}"
        return None
    number: float
    try:
        number = float(value) if spec.kind == "double" else int(value, 10)
    except ValueError:
        return f"must be {'a number' if spec.kind == 'double' else 'an integer'}"
    if spec.kind == "double" and number != number:  # NaN
        return "must be a number"
    if spec.minimum is not None and number < spec.minimum:
        return f"must be at least {spec.minimum:g}"
    if spec.maximum is not None and number > spec.maximum:
        return f"must be at most {spec.maximum:g}"
    return None


def config_violations(
    prefix: str, configs: Mapping[str, Any], allowed: Mapping[str, ConfigSpec]
) -> list[FieldViolation]:
    violations: list[FieldViolation] = []
    for key, value in configs.items():
        path = f"{prefix}.{key}"
        spec = allowed.get(key)
        if spec is None:
            violations.append(
                FieldViolation(path, "is not a setting kplane allows; see the API guide")
            )
        elif not isinstance(value, str):
            violations.append(FieldViolation(path, 'must be given as a string, e.g. "1000"'))
        elif (problem := _check(spec, value)) is not None:
            violations.append(FieldViolation(path, problem))
    return violations


@dataclass(frozen=True)
class KafkaVersion:
    version: str
    metadata_version: str
    upgradable_to: tuple[str, ...]


@dataclass(frozen=True)
class KafkaVersions:
    default: str
    versions: dict[str, KafkaVersion]


@lru_cache(maxsize=1)
def kafka_versions() -> KafkaVersions:
    """The supported versions, from broker/versions.json (the broker image's own list)."""
    raw = json.loads(get_settings().kafka_versions_file.read_text())
    versions = {
        v["version"]: KafkaVersion(v["version"], v["metadata_version"], tuple(v["upgradable_to"]))
        for v in raw["versions"]
    }
    return KafkaVersions(raw["default"], versions)
