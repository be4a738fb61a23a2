"""The client properties file of `kplane clusters client-config`: what Kafka's Java tools
(`--command-config`, `--producer.config`) and librdkafka clients (confluent-kafka, kcat -F)
need to reach a kplane cluster as one SCRAM-SHA-512 user over SASL_PLAINTEXT."""

from __future__ import annotations

import enum


class Dialect(enum.StrEnum):
    JAVA = "java"
    LIBRDKAFKA = "librdkafka"


SECURITY_PROTOCOL = "SASL_PLAINTEXT"
MECHANISM = "SCRAM-SHA-512"


def _jaas_quoted(value: str) -> str:
    """A JAAS option value: double-quoted with `\\` and `"` escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _escaped(value: str) -> str:
    """A Java properties value: `\\` escaped (the loader reads it as an escape otherwise)."""
    return value.replace("\\", "\\\\")


def render(
    cluster_name: str, bootstrap_servers: str, user: str, password: str, dialect: Dialect
) -> str:
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f"username={_jaas_quoted(user)} password={_jaas_quoted(password)};"
    )
    head = [
        f"# kplane {cluster_name}, user {user}",
        f"bootstrap.servers={bootstrap_servers}",
        f"security.protocol={SECURITY_PROTOCOL}",
    ]
    if dialect is Dialect.LIBRDKAFKA:
        lines = [
            *head,
            f"sasl.mechanisms={MECHANISM}",
            f"sasl.username={user}",
            f"sasl.password={password}",
        ]
    else:
        lines = [
            *head,
            f"sasl.mechanism={MECHANISM}",
            f"sasl.jaas.config={_escaped(jaas)}",
            "# librdkafka (confluent-kafka, kcat) takes instead of sasl.jaas.config:",
            f"# sasl.username={user}",
            f"# sasl.password={password}",
        ]
    return "\n".join(lines) + "\n"
