"""The apiserver behaves as Kubernetes specifies for what kplane's workers rely on:
server-side apply ownership and conflicts, optimistic concurrency on resourceVersion, and
ordered, resumable watches. Exercised through the official Python client, as the workers do."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kubernetes import client, watch

APPLY = "application/apply-patch+yaml"


def _cm(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def _owners(cm: Any) -> dict[str, set[str]]:
    """field manager -> the data keys it owns (from managedFields)."""
    owners: dict[str, set[str]] = {}
    for entry in cm.metadata.managed_fields or []:
        fields = (entry.fields_v1 or {}).get("f:data", {})
        owners[entry.manager] = {k.removeprefix("f:") for k in fields if k.startswith("f:")}
    return owners


def test_server_side_apply_conflict_force_and_field_removal(kube_api: Any, kube_namespace: str) -> None:
    v1 = client.CoreV1Api(kube_api)
    ns = kube_namespace
    v1.patch_namespaced_config_map(
        "cfg", ns, _cm("cfg", {"owned-by-a": "1", "shared": "x"}), field_manager="a", _content_type=APPLY
    )

    # Another manager setting a field "a" owns to a different value: 409 naming field and owner.
    with pytest.raises(client.ApiException) as conflict:
        v1.patch_namespaced_config_map(
            "cfg", ns, _cm("cfg", {"owned-by-a": "2"}), field_manager="b", _content_type=APPLY
        )
    assert conflict.value.status == 409
    assert '"reason":"FieldManagerConflict"' in conflict.value.body
    assert '"field":".data.owned-by-a"' in conflict.value.body
    assert 'conflict with \\"a\\"' in conflict.value.body
    assert v1.read_namespaced_config_map("cfg", ns).data["owned-by-a"] == "1"

    # The same value is no conflict: both managers then own the field.
    v1.patch_namespaced_config_map(
        "cfg", ns, _cm("cfg", {"shared": "x"}), field_manager="b", _content_type=APPLY
    )
    owners = _owners(v1.read_namespaced_config_map("cfg", ns))
    assert owners["a"] == {"owned-by-a", "shared"}
    assert owners["b"] == {"shared"}

    # force=True takes the field over: the value changes and "a" loses ownership.
    forced = v1.patch_namespaced_config_map(
        "cfg", ns, _cm("cfg", {"shared": "x", "owned-by-a": "2"}),
        field_manager="b", force=True, _content_type=APPLY,
    )
    assert forced.data["owned-by-a"] == "2"
    owners = _owners(forced)
    assert "owned-by-a" in owners["b"] and "owned-by-a" not in owners["a"]

    # A manager that stops applying a field it alone owns removes it; a co-owned field stays.
    v1.patch_namespaced_config_map(
        "cfg", ns, _cm("cfg", {"shared": "x"}), field_manager="b", _content_type=APPLY
    )
    assert v1.read_namespaced_config_map("cfg", ns).data == {"shared": "x"}


def test_stale_resource_version_is_409(kube_api: Any, kube_namespace: str) -> None:
    v1 = client.CoreV1Api(kube_api)
    ns = kube_namespace
    created = v1.create_namespaced_config_map(ns, _cm("rv", {"k": "1"}))
    stale = created.metadata.resource_version
    updated = v1.replace_namespaced_config_map("rv", ns, _cm("rv", {"k": "2"}) | {
        "metadata": {"name": "rv", "resourceVersion": stale}})
    assert updated.metadata.resource_version != stale

    body = _cm("rv", {"k": "3"}) | {"metadata": {"name": "rv", "resourceVersion": stale}}
    with pytest.raises(client.ApiException) as exc:
        v1.replace_namespaced_config_map("rv", ns, body)
    assert exc.value.status == 409
    assert "the object has been modified" in exc.value.body
    # A patch carrying the stale version is refused the same way.
    with pytest.raises(client.ApiException) as exc:
        v1.patch_namespaced_config_map("rv", ns, {"metadata": {"resourceVersion": stale}, "data": {"k": "4"}})
    assert exc.value.status == 409
    assert v1.read_namespaced_config_map("rv", ns).data == {"k": "2"}

    fresh = _cm("rv", {"k": "5"}) | {
        "metadata": {"name": "rv", "resourceVersion": updated.metadata.resource_version}}
    assert v1.replace_namespaced_config_map("rv", ns, fresh).data == {"k": "5"}


def test_watch_delivers_ordered_events_and_resumes(kube_api: Any, kube_namespace: str) -> None:
    v1 = client.CoreV1Api(kube_api)
    ns = kube_namespace
    start = v1.list_namespaced_config_map(ns).metadata.resource_version
    done = threading.Event()

    def mutate() -> None:
        v1.create_namespaced_config_map(ns, _cm("w", {"k": "1"}))
        v1.patch_namespaced_config_map("w", ns, {"data": {"k": "2"}})
        v1.delete_namespaced_config_map("w", ns)
        done.set()

    events: list[tuple[str, str, str]] = []
    w = watch.Watch()
    writer = threading.Thread(target=mutate)
    writer.start()
    for event in w.stream(v1.list_namespaced_config_map, ns, resource_version=start, timeout_seconds=30):
        obj = event["object"]
        if obj.metadata.name != "w":
            continue  # kube-root-ca.crt, written by the controller-manager
        events.append((event["type"], obj.metadata.resource_version, (obj.data or {}).get("k", "")))
        if event["type"] == "DELETED":
            w.stop()
    writer.join(timeout=30)
    assert done.is_set()
    assert [(t, k) for t, _, k in events] == [("ADDED", "1"), ("MODIFIED", "2"), ("DELETED", "2")]
    versions = [int(rv) for _, rv, _ in events]  # etcd revisions: strictly increasing here
    assert versions == sorted(versions) and len(set(versions)) == 3

    # Resuming from the MODIFIED event's version replays only what came after it.
    resumed = []
    w2 = watch.Watch()
    for event in w2.stream(v1.list_namespaced_config_map, ns, resource_version=events[1][1], timeout_seconds=10):
        if event["object"].metadata.name == "w":
            resumed.append(event["type"])
            w2.stop()
    assert resumed == ["DELETED"]
