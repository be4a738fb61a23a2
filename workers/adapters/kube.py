"""Kubernetes through its REST API: server-side apply (field manager `kplane`), prune by label,
reads of status. Connection settings come from a kubeconfig or the in-cluster service account.

Every apply carries a hash of the manifest in an annotation, and an object whose live hash
matches is not sent again: a converged cluster costs reads only, never a write (and so never a
new resourceVersion that would wake other controllers). Any transport failure or 5xx is a
`TransientError` — the caller treats the answer as unknown, never as "absent".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import httpx

from workers.outcome import PermanentError, TransientError

Obj = dict[str, Any]
HASH_ANNOTATION = "kplane.io/applied-hash"
FIELD_MANAGER = "kplane"

# kind -> (api prefix, plural, namespaced)
KINDS: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("/api/v1", "namespaces", False),
    "Secret": ("/api/v1", "secrets", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "Service": ("/api/v1", "services", True),
    "Endpoints": ("/api/v1", "endpoints", True),
    "Pod": ("/api/v1", "pods", True),
    "PersistentVolumeClaim": ("/api/v1", "persistentvolumeclaims", True),
    "StatefulSet": ("/apis/apps/v1", "statefulsets", True),
    "PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets", True),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies", True),
}
PRUNABLE = (
    "Secret",
    "ConfigMap",
    "Service",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "StatefulSet",
)


def path_of(kind: str, name: str | None = None, namespace: str | None = None) -> str:
    prefix, plural, namespaced = KINDS[kind]
    base = f"{prefix}/namespaces/{namespace}/{plural}" if namespaced else f"{prefix}/{plural}"
    return f"{base}/{name}" if name else base


def manifest_hash(manifest: Obj) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:32]


class Kube(Protocol):
    """What reconcilers need from Kubernetes."""

    def apply(self, manifests: Sequence[Obj]) -> list[str]:
        """Server-side apply each manifest whose content changed; returns `Kind/name` applied."""
        ...

    def prune(self, namespace: str, selector: str, keep: Iterable[tuple[str, str]]) -> list[str]:
        """Delete objects in `namespace` matching `selector` that are not in `keep`."""
        ...

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        """The object, or None when the apiserver says 404."""
        ...

    def list_objects(self, kind: str, namespace: str, selector: str = "") -> list[Obj]: ...

    def delete(
        self, kind: str, name: str, namespace: str | None = None, grace_seconds: int | None = None
    ) -> bool:
        """Delete; False when it was already gone."""
        ...

    def patch_merge(self, kind: str, name: str, namespace: str, patch: Obj) -> None: ...


class HttpKube:
    """`Kube` over httpx. `writes` counts mutating requests (tests assert a no-op pass)."""

    def __init__(
        self,
        server: str,
        *,
        token: str | None = None,
        ca_file: str | None = None,
        client_cert: tuple[str, str] | None = None,
        timeout: float = 5.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=server,
            headers=headers,
            verify=ca_file if ca_file else True,
            cert=client_cert,
            timeout=timeout,
        )
        self.writes = 0

    @classmethod
    def from_config(cls, kubeconfig: str = "", timeout: float = 5.0) -> HttpKube:
        """From a kubeconfig file, or the in-cluster service account when none is given."""
        from kubernetes import client, config

        cfg = client.Configuration()
        # The loaders are untyped in the client library.
        load_file: Any = config.load_kube_config
        load_incluster: Any = config.load_incluster_config
        if kubeconfig:
            load_file(config_file=kubeconfig, client_configuration=cfg)
        else:
            load_incluster(client_configuration=cfg)
        # The loaders keep the token under "BearerToken" or "authorization", as "Bearer <t>".
        keys = cfg.api_key or {}
        auth = str(keys.get("BearerToken") or keys.get("authorization") or "")
        token = auth.removeprefix("Bearer ").strip() or None
        cert = (cfg.cert_file, cfg.key_file) if cfg.cert_file and cfg.key_file else None
        return cls(
            cfg.host, token=token, ca_file=cfg.ssl_ca_cert, client_cert=cert, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Obj | None = None,
        content_type: str = "application/json",
    ) -> httpx.Response:
        if method != "GET":
            self.writes += 1
        try:
            response = self._http.request(
                method,
                path,
                params=params,
                content=json.dumps(body).encode() if body is not None else None,
                headers={"Content-Type": content_type} if body is not None else None,
            )
        except httpx.HTTPError as exc:
            raise TransientError(f"kubernetes {method} {path}: {exc!r}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(f"kubernetes {method} {path}: {response.status_code}")
        return response

    def _ok(self, response: httpx.Response, what: str) -> Obj:
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            # Invalid objects are permanent; 401/403 (the control plane's own credentials or
            # RBAC) and conflicts are fixed elsewhere, so they are retried.
            if response.status_code in (400, 422):
                raise PermanentError("KUBERNETES_REFUSED", f"{what}: {message}")
            raise TransientError(f"{what}: {response.status_code} {message}")
        result: Obj = response.json()
        return result

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        response = self._request("GET", path_of(kind, name, namespace))
        if response.status_code == 404:
            return None
        return self._ok(response, f"get {kind}/{name}")

    def list_objects(self, kind: str, namespace: str, selector: str = "") -> list[Obj]:
        params = {"labelSelector": selector} if selector else None
        response = self._request("GET", path_of(kind, None, namespace), params=params)
        if response.status_code == 404:
            return []
        items: list[Obj] = self._ok(response, f"list {kind}").get("items", [])
        return items

    def apply(self, manifests: Sequence[Obj]) -> list[str]:
        applied = []
        for manifest in manifests:
            meta = manifest["metadata"]
            kind, name, namespace = manifest["kind"], meta["name"], meta.get("namespace")
            digest = manifest_hash(manifest)
            live = self.get(kind, name, namespace)
            annotations = (live or {}).get("metadata", {}).get("annotations") or {}
            if live is not None and annotations.get(HASH_ANNOTATION) == digest:
                continue
            body = {
                **manifest,
                "metadata": {
                    **meta,
                    "annotations": {**meta.get("annotations", {}), HASH_ANNOTATION: digest},
                },
            }
            response = self._request(
                "PATCH",
                path_of(kind, name, namespace),
                params={"fieldManager": FIELD_MANAGER, "force": "true"},
                body=body,
                content_type="application/apply-patch+yaml",
            )
            self._ok(response, f"apply {kind}/{name}")
            applied.append(f"{kind}/{name}")
        return applied

    def delete(
        self, kind: str, name: str, namespace: str | None = None, grace_seconds: int | None = None
    ) -> bool:
        options: Obj = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "propagationPolicy": "Background",
        }
        if grace_seconds is not None:
            options["gracePeriodSeconds"] = grace_seconds
        response = self._request("DELETE", path_of(kind, name, namespace), body=options)
        if response.status_code == 404:
            return False
        self._ok(response, f"delete {kind}/{name}")
        return True

    def prune(self, namespace: str, selector: str, keep: Iterable[tuple[str, str]]) -> list[str]:
        wanted = set(keep)
        deleted = []
        for kind in PRUNABLE:
            for obj in self.list_objects(kind, namespace, selector):
                name = obj["metadata"]["name"]
                if (kind, name) not in wanted and self.delete(kind, name, namespace):
                    deleted.append(f"{kind}/{name}")
        return deleted

    def patch_merge(self, kind: str, name: str, namespace: str, patch: Obj) -> None:
        response = self._request(
            "PATCH",
            path_of(kind, name, namespace),
            body=patch,
            content_type="application/merge-patch+json",
        )
        self._ok(response, f"patch {kind}/{name}")
