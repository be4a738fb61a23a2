"""A small JSON client for the Kubernetes API, used by the devstack itself.

The substrate and the pod runner talk to the apiserver with plain dicts over httpx rather than
through the generated `kubernetes` client: they read and write whole objects (pod status is
built as a dict anyway), they watch a few collections for their whole life, and the generated
client's per-call model validation is measurable CPU on a two-core machine. Code outside the
devstack should use the official client (`KubeSubstrate.api_client()`), as the workers do.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

JsonDict = dict[str, Any]

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


class KubeApiError(Exception):
    """A non-2xx answer from the apiserver, with its HTTP status and Status reason."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: JsonDict


class KubeRest:
    """Thread-safe JSON access to one apiserver with a bearer token."""

    def __init__(self, server: str, token: str, ca_file: str, timeout: float = 30.0) -> None:
        self.server = server.rstrip("/")
        context = ssl.create_default_context(cafile=ca_file)
        self._client = httpx.Client(
            base_url=self.server,
            verify=context,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
        )
        self._closed = threading.Event()

    def close(self) -> None:
        self._closed.set()
        self._client.close()

    def _check(self, response: httpx.Response) -> JsonDict:
        if response.status_code >= 400:
            reason, message = response.reason_phrase, response.text
            try:
                body = response.json()
                reason = body.get("reason", reason)
                message = body.get("message", message)
            except ValueError:
                pass
            raise KubeApiError(response.status_code, str(reason), str(message))
        if not response.content:
            return {}
        if not response.headers.get("content-type", "").startswith("application/json"):
            return {"text": response.text}  # /readyz and friends answer plain text
        result: JsonDict = response.json()
        return result

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str | int | bool] | None = None,
        content_type: str = "application/json",
    ) -> JsonDict:
        content = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if content is not None else {}
        query = {k: str(v).lower() if isinstance(v, bool) else v for k, v in (params or {}).items()}
        response = self._client.request(
            method, path, content=content, headers=headers, params=query
        )
        return self._check(response)

    def get(self, path: str, params: Mapping[str, str | int | bool] | None = None) -> JsonDict:
        return self.request("GET", path, params=params)

    def get_or_none(self, path: str) -> JsonDict | None:
        try:
            return self.get(path)
        except KubeApiError as exc:
            if exc.status == 404:
                return None
            raise

    def create(self, path: str, body: Mapping[str, Any]) -> JsonDict:
        return self.request("POST", path, body)

    def patch(
        self,
        path: str,
        body: Mapping[str, Any],
        content_type: str = MERGE_PATCH,
        params: Mapping[str, str | int | bool] | None = None,
    ) -> JsonDict:
        return self.request("PATCH", path, body, params=params, content_type=content_type)

    def delete(self, path: str, body: Mapping[str, Any] | None = None) -> JsonDict:
        return self.request("DELETE", path, body)

    def watch(
        self,
        path: str,
        resource_version: str,
        params: Mapping[str, str] | None = None,
        timeout_seconds: int = 300,
    ) -> Iterator[WatchEvent]:
        """Yield events after `resource_version` until the server closes the watch.

        Raises KubeApiError(410) when the version is too old (the caller relists), like an
        informer does. An ERROR event is turned into that exception as well.
        """
        query: dict[str, str | int] = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": timeout_seconds,
        }
        query.update(params or {})
        timeout = httpx.Timeout(30.0, read=timeout_seconds + 30.0)
        with self._client.stream("GET", path, params=query, timeout=timeout) as response:
            if response.status_code >= 400:
                response.read()
                self._check(response)
            for line in response.iter_lines():
                if self._closed.is_set():
                    return
                if not line:
                    continue
                event = json.loads(line)
                obj: JsonDict = event.get("object") or {}
                if event.get("type") == "ERROR":
                    raise KubeApiError(
                        int(obj.get("code", 500)),
                        str(obj.get("reason", "")),
                        str(obj.get("message", "")),
                    )
                yield WatchEvent(str(event.get("type")), obj)
