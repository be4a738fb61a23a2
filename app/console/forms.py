"""Form fields -> /v1 request bodies, and the typed inputs the forms offer.

Field names are the API's field paths (`partition_count`, `configs.retention.ms`), so a
`BadRequest` field violation lands at the input of the same name. Ranges are not repeated here:
the API validates them and its message shows at the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData


@dataclass(frozen=True)
class ConfigInput:
    """One topic config the create and edit forms offer as a typed input."""

    key: str
    kind: str  # number | choice
    choices: tuple[str, ...] = ()
    hint: str = ""


COMPRESSION = ("producer", "uncompressed", "zstd", "lz4", "snappy", "gzip")
TOPIC_CONFIG_INPUTS: tuple[ConfigInput, ...] = (
    ConfigInput("cleanup.policy", "choice", ("delete", "compact", "delete,compact")),
    ConfigInput("retention.ms", "number", hint="milliseconds; -1 keeps forever"),
    ConfigInput("retention.bytes", "number", hint="bytes per partition; -1 unlimited"),
    ConfigInput("min.insync.replicas", "number", hint="1 to 100"),
    ConfigInput("max.message.bytes", "number", hint="bytes, at most 104857600"),
    ConfigInput("compression.type", "choice", COMPRESSION),
    ConfigInput("segment.bytes", "number", hint="bytes, 1 MiB to 1 GiB"),
    ConfigInput("message.timestamp.type", "choice", ("CreateTime", "LogAppendTime")),
    ConfigInput("unclean.leader.election.enable", "choice", ("false", "true")),
)
TYPED_KEYS = frozenset(c.key for c in TOPIC_CONFIG_INPUTS)

ACL_OPERATIONS = (
    "READ",
    "WRITE",
    "CREATE",
    "DELETE",
    "ALTER",
    "DESCRIBE",
    "CLUSTER_ACTION",
    "DESCRIBE_CONFIGS",
    "ALTER_CONFIGS",
    "IDEMPOTENT_WRITE",
    "ALL",
)
# Kafka's group states as the API names them (its filter accepts these).
GROUP_STATES = (
    "STABLE",
    "EMPTY",
    "PREPARING_REBALANCING",
    "COMPLETING_REBALANCING",
    "DEAD",
    "UNKNOWN",
)
RESET_FIELDS = ("to_earliest", "to_latest", "to_timestamp", "to_offset", "shift_by", "topics")
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def number(form: FormData, name: str) -> int | float | str | None:
    """An integer or decimal, or the raw text (the API names what is wrong with it)."""
    raw = text(form, name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw


def topic_configs(form: FormData) -> dict[str, str]:
    """`configs.<key>` inputs that were filled in, as the API's string values."""
    return {
        key.removeprefix("configs."): value.strip()
        for key, value in form.multi_items()
        if key.startswith("configs.") and isinstance(value, str) and value.strip()
    }


def key_values(raw: str) -> dict[str, str]:
    """`key=value` lines (a cluster's config) as a map; blank lines are skipped."""
    out: dict[str, str] = {}
    for line in raw.splitlines():
        key, sep, value = line.partition("=")
        if key.strip():
            out[key.strip()] = value.strip() if sep else ""
    return out


def topic_selections(raw: str) -> list[dict[str, Any]]:
    """`topic` or `topic:0,2` lines as a reset's `topics`; a partition that is not an integer
    is passed on as written, for the API to name."""
    out: list[dict[str, Any]] = []
    for line in raw.splitlines():
        topic, _, partitions = line.strip().partition(":")
        if not topic.strip():
            continue
        numbers: list[int | str] = []
        for part in partitions.replace(" ", ",").split(","):
            if part.strip():
                numbers.append(int(part) if part.strip().isdigit() else part.strip())
        out.append({"topic": topic.strip(), "partitions": numbers})
    return out


def reset_request(form: FormData, validate_only: bool) -> dict[str, Any]:
    """A `:resetOffsets` body from the reset form: the target fields that were filled in (the
    API insists on exactly one and names the field otherwise)."""
    return drop_none(
        {
            "to_earliest": True if text(form, "to_earliest") == "true" else None,
            "to_latest": True if text(form, "to_latest") == "true" else None,
            "to_timestamp": text(form, "to_timestamp") or None,
            "to_offset": number(form, "to_offset"),
            "shift_by": number(form, "shift_by"),
            "topics": topic_selections(text(form, "topics")) or None,
            "validate_only": validate_only,
        }
    )


def drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


@dataclass(frozen=True)
class AclGrant:
    """One entry to add to one ACL resource pattern."""

    acl_id: str
    operation: str


def preset_grants(preset: str, pattern_type: str, topic: str, group: str) -> list[AclGrant]:
    """The entries behind the "producer" and "consumer" presets, for a topic or a prefix."""
    kind = "topicPrefixed" if pattern_type == "PREFIXED" else "topic"
    topic_acl = f"{kind}/{topic}"
    if preset == "producer":
        return [AclGrant(topic_acl, "WRITE"), AclGrant(topic_acl, "DESCRIBE")]
    group_kind = "consumerGroupPrefixed" if pattern_type == "PREFIXED" else "consumerGroup"
    return [
        AclGrant(topic_acl, "READ"),
        AclGrant(topic_acl, "DESCRIBE"),
        AclGrant(f"{group_kind}/{group or topic}", "READ"),
    ]


def client_properties(bootstrap_servers: str, user: str = "<user>") -> str:
    """A Kafka client configuration for the cluster (SASL/SCRAM-SHA-512)."""
    return "\n".join(
        [
            f"bootstrap.servers={bootstrap_servers or '<pending>'}",
            "security.protocol=SASL_PLAINTEXT",
            "sasl.mechanism=SCRAM-SHA-512",
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{user}" password="<password>";',
        ]
    )
