"""What the adapters over kafka-python share: how a client logs in as the control plane, and
how a broken client is dropped.

kafka-python (a maintained client) carries the Admin APIs confluent-kafka lacks — partition
reassignment, DescribeQuorum, features, client quotas — and each adapter that uses it
(reassign, kafka_roll, client_quotas) builds its client from `client_config`.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

# kafka-python logs every connection at INFO; the worker's log is for reconciles.
logging.getLogger("kafka").setLevel(logging.WARNING)


def client_config(
    bootstrap: str, username: str, password: str, timeout: float, client_id: str = "kplane-worker"
) -> dict[str, Any]:
    """Keyword arguments of a kafka-python client authenticated with SCRAM-SHA-512."""
    timeout_ms = int(timeout * 1000)
    return {
        "bootstrap_servers": bootstrap.split(","),
        "client_id": client_id,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": username,
        "sasl_plain_password": password,
        "request_timeout_ms": timeout_ms,
    }


def close_quietly(client: Any) -> None:
    """Close a client that may be broken: it is dropped either way, and nothing is left to do
    about an error while closing it."""
    if client is not None:
        with contextlib.suppress(Exception):
            client.close()
