"""The apiserver behaves as Kubernetes specifies for what kplane's workers rely on:
server-side apply ownership and conflicts, optimistic concurrency on resourceVersion, and
ordered, resumable watches. Exercised through the official Python client, as the workers do."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kubernetes import client, watch

APPLY = "application/apply-patch+yaml"
Watch: Any = watch.Watch  # the watch module has no type annotations


def applied(name: str, data: dict[str, str]) -> dict[str, Any]:
    """An apply configuration (what the workers send with field manager "kplane")."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def config_map(name: str, data: dict[str, str], version: str | None = None) -> client.V1ConfigMap:
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, resource_version=version), data=data
    )


def version_of(obj: client.V1ConfigMap) -> str:
    assert obj.metadata is not None and obj.metadata.resource_version is not None
    return obj.metadata.resource_version


def data_of(obj: client.V1ConfigMap) -> dict[str, str]:
    return dict(obj.data or {})


def owners(cm: client.V1ConfigMap) -> dict[str, set[str]]:
    """field manager -> the data keys it owns (from managedFields)."""
    assert cm.metadata is not None
    found: dict[str, set[str]] = {}
    for entry in cm.metadata.managed_fields or []:
        fields = (entry.fields_v1 or {}).get("f:data", {})
        found[str(entry.manager)] = {k.removeprefix("f:") for k in fields if k.startswith("f:")}
    return found


def apply(
    v1: client.CoreV1Api, ns: str, body: dict[str, Any], manager: str, force: bool = False
) -> client.V1ConfigMap:
    return v1.patch_namespaced_config_map(
        "cfg", ns, body, field_manager=manager, force=force or None, _content_type=APPLY
    )


def test_server_side_apply_conflict_force_and_field_removal(
    kube_api: Any, kube_namespace: str
) -> None:
    v1 = client.CoreV1Api(kube_api)
    ns = kube_namespace
    apply(v1, ns, applied("cfg", {"owned-by-a": "1", "shared": "x"}), "a")

    # Another manager setting a field "a" owns to a different value: 409 naming field and owner.
    with pytest.raises(client.ApiException) as conflict:
        apply(v1, ns, applied("cfg", {"owned-by-a": "2"}), "b")
    body = str(conflict.value.body)
    assert conflict.value.status == 409
    assert '"reason":"FieldManagerConflict"' in body
    assert '"field":".data.owned-by-a"' in body
    assert 'conflict with \\"a\\"' in body
    assert data_of(v1.read_namespaced_config_map("cfg", ns))["owned-by-a"] == "1"

    # The same value is no conflict: both managers then own the field.
    apply(v1, ns, applied("cfg", {"shared": "x"}), "b")
    found = owners(v1.read_namespaced_config_map("cfg", ns))
    assert found["a"] == {"owned-by-a", "shared"}
    assert found["b"] == {"shared"}

    # force=True takes the field over: the value changes and "a" loses ownership.
    forced = apply(v1, ns, applied("cfg", {"shared": "x", "owned-by-a": "2"}), "b", force=True)
    assert data_of(forced)["owned-by-a"] == "2"
    found = owners(forced)
    assert "owned-by-a" in found["b"]
    assert "owned-by-a" not in found["a"]

    # A manager that stops applying a field it alone owns removes it; a co-owned field stays.
    apply(v1, ns, applied("cfg", {"shared": "x"}), "b")
    assert data_of(v1.read_namespaced_config_map("cfg", ns)) == {"shared": "x"}


def test_stale_resource_version_is_409(kube_api: Any, kube_namespace: str) -> None:
    v1 = client.CoreV1Api(kube_api)
    ns = kube_namespace
    stale = version_of(v1.create_namespaced_config_map(ns, config_map("rv", {"k": "1"})))
    updated = v1.replace_namespaced_config_map("rv", ns, config_map("rv", {"k": "2"}, stale))
    assert version_of(updated) != stale

    with pytest.raises(client.ApiException) as exc:
        v1.replace_namespaced_config_map("rv", ns, config_map("rv", {"k": "3"}, stale))
    assert exc.value.status == 409
    assert "the object has been modified" in str(exc.value.body)
    # A patch carrying the stale version is refused the same way.
    with pytest.raises(client.ApiException) as exc:
        v1.patch_namespaced_config_map(
            "rv", ns, {"metadata": {"resourceVersion": stale}, "data": {"k": "4"}}
        )
    assert exc.value.status == 409
    assert data_of(v1.read_namespaced_config_map("rv", ns)) == {"k": "2"}

    fresh = config_map("rv", {"k": "5"}, version_of(updated))
    assert data_of(v1.replace_namespaced_config_map("rv", ns, fresh)) == {"k": "5"}


def test_watch_delivers_ordered_events_and_resumes(kube_api: Any, kube_namespace: str) -> None:
    v1 = client.CoreV1Api(kube_api)
    ns = kube_namespace
    listed = v1.list_namespaced_config_map(ns)
    assert listed.metadata is not None
    start = listed.metadata.resource_version
    done = threading.Event()

    def mutate() -> None:
        v1.create_namespaced_config_map(ns, config_map("w", {"k": "1"}))
        v1.patch_namespaced_config_map("w", ns, {"data": {"k": "2"}})
        v1.delete_namespaced_config_map("w", ns)
        done.set()

    events: list[tuple[str, str, str]] = []
    w = Watch()
    writer = threading.Thread(target=mutate)
    writer.start()
    stream = w.stream(v1.list_namespaced_config_map, ns, resource_version=start, timeout_seconds=30)
    for event in stream:
        obj = event["object"]
        if obj.metadata.name != "w":
            continue  # kube-root-ca.crt, written by the controller-manager
        events.append((event["type"], version_of(obj), data_of(obj).get("k", "")))
        if event["type"] == "DELETED":
            w.stop()
    writer.join(timeout=30)
    assert done.is_set()
    assert [(t, k) for t, _, k in events] == [("ADDED", "1"), ("MODIFIED", "2"), ("DELETED", "2")]
    versions = [int(rv) for _, rv, _ in events]  # etcd revisions: strictly increasing here
    assert versions == sorted(versions)
    assert len(set(versions)) == 3

    # Resuming from the MODIFIED event's version replays only what came after it.
    resumed = []
    w2 = Watch()
    stream = w2.stream(
        v1.list_namespaced_config_map, ns, resource_version=events[1][1], timeout_seconds=10
    )
    for event in stream:
        if event["object"].metadata.name == "w":
            resumed.append(event["type"])
            w2.stop()
    assert resumed == ["DELETED"]
