"""Fixtures of the chart tests: helm (built once, cached), the chart's renderings, and the real
devstack kube-apiserver that validates them with server-side dry-run applies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack import helm
from devstack.kube.rest import APPLY_PATCH, KubeApiError, KubeRest
from devstack.kube.substrate import KubeSubstrate
from devstack.pytest_plugin import create_namespace, delete_namespace, kube_substrate

__all__ = ["kube_substrate"]

Obj = dict[str, Any]
FIELD_MANAGER = "kplane-helm-ci"


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    return helm.ensure()


@pytest.fixture(scope="session", params=[r.name for r in helm.RENDERINGS])
def rendering(request: pytest.FixtureRequest, helm_bin: Path) -> helm.Rendering:
    by_name = {r.name: r for r in helm.RENDERINGS}
    return by_name[str(request.param)]


@pytest.fixture(scope="session")
def rendered(rendering: helm.Rendering) -> list[Obj]:
    """The objects of one rendering, with the snapshots' release name and namespace."""
    return helm.objects(helm.template(rendering.values_files))


@pytest.fixture(scope="module")
def kube_rest(kube_substrate: KubeSubstrate) -> KubeRest:
    # The substrate's own client, shared: the substrate closes it.
    return kube_substrate.rest()


@pytest.fixture(scope="module")
def release_namespace(kube_rest: KubeRest) -> Iterator[str]:
    name = create_namespace(kube_rest, "helm")
    try:
        yield name
    finally:
        delete_namespace(kube_rest, name)


def resource_of(rest: KubeRest, api_version: str, kind: str) -> tuple[str, str, bool]:
    """(collection path prefix, plural, namespaced) of a kind, from the apiserver's discovery.

    A group/version or kind the apiserver does not serve is an AssertionError: such an object
    would fail a real install, so the test must fail rather than skip it.
    """
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    try:
        discovery = rest.get(prefix)
    except KubeApiError as exc:
        raise AssertionError(f"the apiserver does not serve {api_version} ({exc})") from None
    for resource in discovery.get("resources", []):
        if resource.get("kind") == kind and "/" not in resource["name"]:
            return prefix, str(resource["name"]), bool(resource["namespaced"])
    raise AssertionError(f"the apiserver serves no kind {kind} in {api_version}")


def dry_run_apply(rest: KubeRest, obj: Obj) -> Obj:
    """Server-side apply of `obj` with dryRun=All and strict field validation: the apiserver
    runs defaulting, its schema validation and admission, and persists nothing."""
    prefix, plural, namespaced = resource_of(rest, obj["apiVersion"], obj["kind"])
    meta = obj["metadata"]
    if namespaced:
        path = f"{prefix}/namespaces/{meta['namespace']}/{plural}/{meta['name']}"
    else:
        assert "namespace" not in meta, f"cluster-scoped {obj['kind']} has a namespace"
        path = f"{prefix}/{plural}/{meta['name']}"
    return rest.patch(
        path,
        obj,
        content_type=APPLY_PATCH,
        params={
            "dryRun": "All",
            "fieldManager": FIELD_MANAGER,
            "force": True,
            "fieldValidation": "Strict",
        },
    )
