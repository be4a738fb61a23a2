"""Client quotas of a cluster's users, through kafka-python's DescribeClientQuotas and
AlterClientQuotas requests (confluent-kafka has no client-quota API).

Only user entities are read or written: the entity whose single component is `user=<name>`
(not `user + client-id` pairs, not the default user entity). The library's own network client
connects, authenticates with SASL/SCRAM and negotiates the request versions; this module only
builds the two requests and reads their answers.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Protocol

import kafka.errors as kafka_errors
from kafka.net.compat import KafkaNetClient
from kafka.protocol.admin.client_quotas import (
    AlterClientQuotasRequest,
    DescribeClientQuotasRequest,
)

from workers.adapters.kafka_python import client_config, close_quietly
from workers.outcome import TransientError

USER = "user"
# DescribeClientQuotas match types: 0 = exactly this name, 1 = the default entity,
# 2 = any explicitly named entity.
_MATCH_SPECIFIED = 2

_Entry = AlterClientQuotasRequest.EntryData
_Entity = AlterClientQuotasRequest.EntryData.EntityData
_Op = AlterClientQuotasRequest.EntryData.OpData

# user name -> quota key -> value
Quotas = dict[str, dict[str, float]]
# user name -> quota key -> value to set, or None to remove the key
QuotaChanges = Mapping[str, Mapping[str, float | None]]


class ClientQuotas(Protocol):
    def user_quotas(self) -> Quotas:
        """Every quota set on a user entity (user names that kplane does not manage included:
        the caller filters)."""
        ...

    def alter_user_quotas(self, changes: QuotaChanges) -> dict[str, str]:
        """Returns user name -> error for the entities Kafka refused."""
        ...


class KafkaPythonQuotas:
    """`ClientQuotas` over one kafka-python network client, authenticated as the cluster's
    control-plane user. The client drives its socket on the calling thread, hence the lock."""

    def __init__(self, bootstrap: str, username: str, password: str, timeout: float) -> None:
        self.timeout_ms = int(timeout * 1000)
        self._config = client_config(bootstrap, username, password, timeout)
        self._config["reconnect_backoff_max_ms"] = 2000
        self._client: KafkaNetClient | None = None
        self._lock = threading.Lock()

    def _send(self, request: Any) -> Any:
        with self._lock:
            try:
                if self._client is None:
                    # Kept before bootstrapping, so that a failed bootstrap still closes it.
                    self._client = KafkaNetClient(**self._config)
                    self._client.check_version(timeout_ms=self.timeout_ms)
                node = self._client.least_loaded_node(bootstrap_fallback=True)
                return self._client.send_and_receive(node, request, timeout_ms=self.timeout_ms)
            except Exception as exc:
                # A connection, authentication or timeout failure: start afresh next time.
                self._close()
                raise TransientError(f"client quotas: {exc}") from exc

    def user_quotas(self) -> Quotas:
        request = DescribeClientQuotasRequest(
            components=[
                DescribeClientQuotasRequest.ComponentData(
                    entity_type=USER, match_type=_MATCH_SPECIFIED, match=None
                )
            ],
            # Only entities made of the user component alone (no user + client-id pairs).
            strict=True,
        )
        response = self._send(request)
        error = kafka_errors.for_code(response.error_code)
        if error is not kafka_errors.NoError:
            raise TransientError(
                f"describe client quotas: {error.__name__} {response.error_message}"
            )
        out: Quotas = {}
        for entry in response.entries or ():
            entity = [(e.entity_type, e.entity_name) for e in entry.entity]
            if len(entity) != 1 or entity[0][0] != USER or entity[0][1] is None:
                continue
            out[entity[0][1]] = {v.key: float(v.value) for v in entry.values}
        return out

    def alter_user_quotas(self, changes: QuotaChanges) -> dict[str, str]:
        entries = [
            _Entry(
                entity=[_Entity(entity_type=USER, entity_name=name)],
                ops=[
                    _Op(key=key, value=0.0 if value is None else value, remove=value is None)
                    for key, value in sorted(ops.items())
                ],
            )
            for name, ops in sorted(changes.items())
            if ops
        ]
        if not entries:
            return {}
        response = self._send(AlterClientQuotasRequest(entries=entries, validate_only=False))
        errors: dict[str, str] = {}
        transient: list[str] = []
        for entry in response.entries:
            error = kafka_errors.for_code(entry.error_code)
            if error is kafka_errors.NoError:
                continue
            name = next((e.entity_name for e in entry.entity if e.entity_type == USER), None)
            message = f"{error.__name__}: {entry.error_message or ''}".rstrip(": ")
            if error.retriable:
                transient.append(f"{name}: {message}")
            elif name is not None:
                errors[name] = message
        if transient:
            raise TransientError(f"alter client quotas: {transient[0]}")
        return errors

    def _close(self) -> None:
        client, self._client = self._client, None
        close_quietly(client)

    def close(self) -> None:
        with self._lock:
            self._close()
