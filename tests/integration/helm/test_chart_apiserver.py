"""The rendered chart, validated by a real kube-apiserver (devstack, v1.35): every object is
server-side applied with dryRun=All and strict field validation, so Kubernetes' own schema,
defaulting and admission judge it; and docs/deploying.md's commands (`helm install
--dry-run=server`, `kubectl apply --server-side --dry-run=server`) work against it as printed."""

from __future__ import annotations

import copy
import subprocess
from typing import Any

import pytest

from devstack import helm
from devstack.kube import binaries
from devstack.kube.rest import KubeApiError, KubeRest
from devstack.kube.substrate import KubeSubstrate
from tests.integration.helm.conftest import FIELD_MANAGER, dry_run_apply

Obj = dict[str, Any]


def test_every_rendered_object_passes_server_side_dry_run(
    rendering: helm.Rendering, kube_rest: KubeRest, release_namespace: str
) -> None:
    objs = helm.objects(helm.template(rendering.values_files, namespace=release_namespace))
    failures = []
    for obj in objs:
        try:
            answer = dry_run_apply(kube_rest, obj)
        except KubeApiError as exc:
            failures.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc}")
            continue
        # The answer is the object as it would be stored: defaulted, owned by our manager.
        assert answer["kind"] == obj["kind"]
        managers = {m["manager"] for m in answer["metadata"].get("managedFields", [])}
        assert FIELD_MANAGER in managers
    assert not failures, "the apiserver refused:\n" + "\n".join(failures)
    # dryRun=All persisted nothing.
    assert not kube_rest.get(f"/apis/apps/v1/namespaces/{release_namespace}/deployments")["items"]


def test_the_dry_run_does_refuse_invalid_objects(
    rendered: list[Obj], kube_rest: KubeRest, release_namespace: str
) -> None:
    """Proof the check above can fail: an unknown field, a bad value, an unserved kind."""
    deployment = copy.deepcopy(next(o for o in rendered if o["kind"] == "Deployment"))
    deployment["metadata"]["namespace"] = release_namespace
    unknown_field = copy.deepcopy(deployment)
    unknown_field["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(KubeApiError) as caught:
        dry_run_apply(kube_rest, unknown_field)
    # Server-side apply reports an undeclared field as 500 "field not declared in schema" (the
    # typed patch cannot be built); either way the object is refused, naming the field.
    assert caught.value.status >= 400 and "livenessProbes" in caught.value.message
    bad_value = copy.deepcopy(deployment)
    bad_value["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "lots"
    with pytest.raises(KubeApiError) as caught:
        dry_run_apply(kube_rest, bad_value)
    assert caught.value.status >= 400 and "quantities must match" in caught.value.message
    pdb = {**copy.deepcopy(next(o for o in rendered if o["kind"] == "PodDisruptionBudget"))}
    pdb["apiVersion"] = "policy/v1beta1"  # removed in Kubernetes 1.25
    with pytest.raises(AssertionError, match="does not serve policy/v1beta1"):
        dry_run_apply(kube_rest, pdb)


def test_readme_commands_work_against_the_devstack_apiserver(
    kube_substrate: KubeSubstrate, release_namespace: str
) -> None:
    """What docs/deploying.md prints, against the same kind of cluster."""
    kubeconfig = kube_substrate.kubeconfig_path
    out = helm.run(
        [
            "install",
            "kplane",
            str(helm.CHART_DIR),
            "--namespace",
            release_namespace,
            "--dry-run=server",
        ],
        kubeconfig=kubeconfig,
    )
    assert "STATUS: pending-install" in out
    assert "kind: ClusterRole" in out and "helm.sh/hook: pre-install,pre-upgrade" in out
    rendered = helm.template(namespace=release_namespace)
    kubectl = binaries.bin_dir() / "kubectl"
    proc = subprocess.run(
        [str(kubectl), "apply", "--server-side", "--dry-run=server", "-f", "-"],
        input=rendered,
        capture_output=True,
        text=True,
        timeout=120,
        env={"KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    applied = [line for line in proc.stdout.splitlines() if line.endswith("(server dry run)")]
    assert len(applied) == len(helm.objects(rendered)), proc.stdout
