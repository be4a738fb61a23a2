"""pytest fixtures for tests against the real local Kubernetes (devstack.kube).

- `kube_substrate` (session): one KubeSubstrate for the whole run. Its workdir is a fixed slot
  under ~/.cache/kplane/devstack-pytest/, so a run that crashed is cleaned up by the next one;
  a slot held by a concurrent run (another engineer's pytest) is skipped for the next.
- `kube_api` (session): a `kubernetes.client.ApiClient` with admin rights.
- `kube_namespace` (function): a fresh namespace, deleted afterwards.

Use them by importing into a conftest.py (`from devstack.pytest_plugin import *` names them),
or list "devstack.pytest_plugin" in the root conftest's `pytest_plugins`.

Also here: `wait_until` and pod helpers that wait on conditions with deadlines.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from devstack.kube.binaries import cache_root
from devstack.kube.rest import JsonDict, KubeApiError, KubeRest
from devstack.kube.substrate import KubeSubstrate, SubstrateBusy

__all__ = ["kube_api", "kube_namespace", "kube_substrate"]

T = TypeVar("T")
_SLOTS = 4


def wait_until(
    condition: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1
) -> T:
    """Poll until `condition()` returns something truthy and return it; fail at the deadline
    with `what` and the last value seen."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = condition()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


def wait_for_log(
    substrate: KubeSubstrate,
    namespace: str,
    name: str,
    needle: str,
    timeout: float = 30.0,
    container: str | None = None,
) -> str:
    """The container's log once it contains `needle`."""

    def check() -> str | None:
        text = substrate.pod_log(namespace, name, container)
        return text if needle in text else None

    return wait_until(check, timeout, f"{needle!r} in the log of {namespace}/{name}")


def pod_condition(pod: JsonDict, kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True"
        for c in pod.get("status", {}).get("conditions", [])
    )


def get_pod(rest: KubeRest, namespace: str, name: str) -> JsonDict | None:
    return rest.get_or_none(f"/api/v1/namespaces/{namespace}/pods/{name}")


def wait_pod(
    rest: KubeRest,
    namespace: str,
    name: str,
    predicate: Callable[[JsonDict], bool],
    timeout: float,
    what: str,
) -> JsonDict:
    def check() -> JsonDict | None:
        pod = get_pod(rest, namespace, name)
        return pod if pod is not None and predicate(pod) else None

    try:
        return wait_until(check, timeout, f"pod {namespace}/{name}: {what}")
    except AssertionError as exc:
        pod = get_pod(rest, namespace, name)
        raise AssertionError(f"{exc}\npod status: {pod and pod.get('status')}") from None


def wait_pod_ready(rest: KubeRest, namespace: str, name: str, timeout: float = 60.0) -> JsonDict:
    return wait_pod(rest, namespace, name, lambda p: pod_condition(p, "Ready"), timeout, "Ready")


def create_namespace(rest: KubeRest, prefix: str = "t") -> str:
    """A new namespace, returned once its default ServiceAccount exists (pods need it)."""
    name = f"{prefix}-{secrets.token_hex(3)}"
    rest.create(
        "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    )
    wait_until(
        lambda: rest.get_or_none(f"/api/v1/namespaces/{name}/serviceaccounts/default"),
        30,
        f"the default ServiceAccount of {name}",
    )
    return name


def delete_namespace(rest: KubeRest, name: str) -> None:
    try:
        rest.delete(f"/api/v1/namespaces/{name}")
    except KubeApiError as exc:
        if exc.status != 404:
            raise


@pytest.fixture(scope="session")
def kube_substrate() -> Iterator[KubeSubstrate]:
    base = cache_root() / "devstack-pytest"
    substrate: KubeSubstrate | None = None
    for slot in range(_SLOTS):
        candidate = KubeSubstrate(Path(base / f"slot-{slot}"))
        try:
            substrate = candidate.start()
            break
        except SubstrateBusy:
            continue
    if substrate is None:
        raise RuntimeError(f"all {_SLOTS} devstack slots under {base} are in use")
    try:
        yield substrate
    finally:
        substrate.stop()


@pytest.fixture(scope="session")
def kube_api(kube_substrate: KubeSubstrate) -> Iterator[Any]:
    api = kube_substrate.api_client()
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def kube_namespace(kube_substrate: KubeSubstrate, request: pytest.FixtureRequest) -> Iterator[str]:
    rest = kube_substrate.rest()
    prefix = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40] or "t"
    name = create_namespace(rest, prefix)
    try:
        yield name
    finally:
        delete_namespace(rest, name)
