"""The chart renders, lints and matches its reviewed snapshots; the rendered objects have the
properties the issue asks for (secrets only by reference, non-root, bounded, probed, least
privilege), and bad values fail with a clear error."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack import helm

Obj = dict[str, Any]

SECRET_ENV = {
    "KPLANE_DATABASE_URL",
    "KPLANE_REDIS_URL",
    "KPLANE_ADMIN_TOKEN",
    "KPLANE_SECRET_KEY",
    "KPLANE_PASSWORD_ENCRYPTION_KEY",
}
# Exactly what the workers need (issue 7): the objects of a Kafka cluster's namespace, pod
# reads and deletes for rolling, events. Nothing else: no pods/exec, no nodes, no RBAC objects.
MANAGE = {"get", "list", "watch", "create", "update", "patch", "delete"}
EXPECTED_RULES = (
    {("", r, v) for r in ("namespaces", "services", "configmaps", "secrets") for v in MANAGE}
    | {("", "persistentvolumeclaims", v) for v in MANAGE}
    | {("apps", "statefulsets", v) for v in MANAGE}
    | {("policy", "poddisruptionbudgets", v) for v in MANAGE}
    | {("networking.k8s.io", "networkpolicies", v) for v in MANAGE}
    | {("", "pods", v) for v in ("get", "list", "watch", "delete")}
    | {(g, "events", v) for g in ("", "events.k8s.io") for v in ("create", "patch")}
)


def of_kind(objs: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objs if o["kind"] == kind]


def named(objs: list[Obj], kind: str, suffix: str) -> Obj:
    found = [o for o in of_kind(objs, kind) if o["metadata"]["name"].endswith(suffix)]
    assert len(found) == 1, f"expected one {kind} named *{suffix}, got {len(found)}"
    return found[0]


def pod_specs(objs: list[Obj]) -> list[tuple[str, Obj]]:
    specs = [
        (o["metadata"]["name"], o["spec"]["template"]["spec"])
        for o in objs
        if o["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet")
    ]
    assert specs, "the rendering has no workloads"
    return specs


def containers(spec: Obj) -> list[Obj]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_lint_strict(rendering: helm.Rendering) -> None:
    report = helm.lint(rendering.values_files)
    assert "0 chart(s) failed" in report


def test_rendering_matches_committed_snapshot(rendering: helm.Rendering) -> None:
    diff = helm.snapshot_drift(rendering)
    assert not diff, (
        f"the {rendering.name} rendering drifted from {rendering.snapshot.name}:\n{diff}\n"
        "review the change, then run `make helm-snapshot` and commit the snapshot"
    )


def test_broker_image_default_is_this_commits_kafka_default(rendered: list[Obj]) -> None:
    values = yaml.safe_load(helm.VALUES_FILE.read_text())
    assert values["brokerImage"]["tag"] == helm.broker_default_version(), (
        "values.yaml's brokerImage.tag is stale: run `make helm-snapshot`"
    )
    assert helm.synced_values_text() == helm.VALUES_FILE.read_text()
    worker = named(rendered, "Deployment", "-worker")
    env = {
        e["name"]: e.get("value")
        for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    repo = env["KPLANE_WORKER_BROKER_IMAGE"]
    assert env["KPLANE_WORKER_BROKER_DEFAULT_IMAGE"].startswith(f"{repo}:")


def test_no_secret_value_is_rendered_inline(rendered: list[Obj]) -> None:
    assert not of_kind(rendered, "Secret"), "the chart must reference a Secret, not create one"
    for name, spec in pod_specs(rendered):
        for container in containers(spec):
            env = {e["name"]: e for e in container.get("env", [])}
            assert set(env) >= SECRET_ENV, f"{name}/{container['name']} lacks credentials"
            for var, entry in env.items():
                looks_secret = re.search(r"URL|TOKEN|KEY|PASSWORD|SECRET", var)
                if var in SECRET_ENV or looks_secret:
                    assert "value" not in entry, f"{name}/{container['name']}: {var} is inline"
                    assert set(entry["valueFrom"]) == {"secretKeyRef"}, (name, var)
            for source in container.get("envFrom", []):
                assert set(source) <= {"secretRef", "configMapRef", "prefix"}, (name, source)


def test_every_pod_runs_non_root_bounded_and_hardened(rendered: list[Obj]) -> None:
    for name, spec in pod_specs(rendered):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        for container in containers(spec):
            where = f"{name}/{container['name']}"
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) >= {"cpu", "memory"}, (where, bound)


def test_api_probes_service_and_disruption_budget(rendered: list[Obj]) -> None:
    api = named(rendered, "Deployment", "-api")
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["command"][:3] == ["uvicorn", "app.main:create_app", "--factory"]
    pod_labels = api["spec"]["template"]["metadata"]["labels"]
    service = named(rendered, "Service", "-api")
    pdb = named(rendered, "PodDisruptionBudget", "-api")
    for selector in (service["spec"]["selector"], pdb["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= pod_labels.items()
    assert pdb["apiVersion"] == "policy/v1"
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_worker_beat_and_migrations(rendered: list[Obj]) -> None:
    worker = named(rendered, "Deployment", "-worker")["spec"]["template"]["spec"]
    assert worker["containers"][0]["command"][:3] == [
        "celery",
        "--app=workers.celery_app",
        "worker",
    ]
    assert "--queues=kplane" in worker["containers"][0]["command"]
    beat = named(rendered, "Deployment", "-beat")
    assert beat["spec"]["replicas"] >= 2 or beat["spec"]["replicas"] == 0
    assert beat["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "python",
        "-m",
        "workers.beat",
    ]
    job = named(rendered, "Job", "-migrate")
    hooks = job["metadata"]["annotations"]["helm.sh/hook"].split(",")
    assert sorted(hooks) == ["pre-install", "pre-upgrade"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "alembic",
        "upgrade",
        "head",
    ]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_rbac_is_exactly_the_least_set_and_only_workers_hold_it(rendered: list[Obj]) -> None:
    assert not of_kind(rendered, "Role") and not of_kind(rendered, "RoleBinding")
    (role,) = of_kind(rendered, "ClusterRole")
    granted = set()
    for rule in role["rules"]:
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    assert "*" not in (group, resource, verb), rule
                    granted.add((group, resource, verb))
    assert granted == EXPECTED_RULES, (
        f"extra: {sorted(granted - EXPECTED_RULES)}; missing: {sorted(EXPECTED_RULES - granted)}"
    )
    (binding,) = of_kind(rendered, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    (subject,) = binding["subjects"]
    worker = named(rendered, "Deployment", "-worker")["spec"]["template"]["spec"]
    assert subject["kind"] == "ServiceAccount"
    assert subject["name"] == worker["serviceAccountName"]
    assert worker["automountServiceAccountToken"] is True
    for name, spec in pod_specs(rendered):
        if name.endswith("-worker"):
            continue
        # Nothing else talks to the Kubernetes API: no token in the pod at all.
        assert spec["automountServiceAccountToken"] is False, name
        assert spec.get("serviceAccountName") != subject["name"], name


def test_network_policies_admit_only_the_api_port(rendered: list[Obj]) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind(rendered, "NetworkPolicy")}
    api = next(s for n, s in policies.items() if n.endswith("-api"))
    assert api["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]
    deny = next(s for n, s in policies.items() if n.endswith("-deny-ingress"))
    assert deny["ingress"] == [] and deny["policyTypes"] == ["Ingress"]
    assert set(deny["podSelector"]["matchExpressions"][0]["values"]) == {
        "worker",
        "beat",
        "migrate",
    }


def test_full_values_switch_on_every_optional_part() -> None:
    objs = helm.objects(helm.template([helm.FULL_VALUES_FILE]))
    ingress = named(objs, "Ingress", "-api")
    assert ingress["spec"]["tls"][0]["secretName"] == "kplane-tls"
    api = named(objs, "Deployment", "-api")["spec"]["template"]["spec"]
    assert api["tolerations"] and api["affinity"] and api["nodeSelector"]
    assert api["imagePullSecrets"] == [{"name": "kplane-pull"}]
    env = {e["name"]: e for e in api["containers"][0]["env"]}
    assert env["KPLANE_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "kplane-credentials",
        "key": "db",
    }
    assert env["KPLANE_RATE_LIMIT_BURST"]["value"] == "20000"


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"environment": "staging"}, "environment"),
        ({"extraEnv": [{"name": "KPLANE_ADMIN_TOKEN", "valueFrom": {}}]}, "extraEnv"),
        # null removes a default key in Helm: a container without limits is refused.
        ({"api": {"resources": {"limits": None}}}, "limits"),
        ({"podSecurityContext": {"runAsNonRoot": False}}, "runAsNonRoot"),
        ({"brokerImage": {"tag": "latest"}}, "/brokerImage/tag"),
        ({"secret": {"name": ""}}, "/secret/name"),
        ({"ingress": {"enabled": True, "tls": {"enabled": True, "secretName": ""}}}, "secretName"),
        ({"replicas": 3}, "replicas"),
    ],
)
def test_bad_values_fail_with_a_clear_error(tmp_path: Path, values: Obj, needle: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps(values))
    with pytest.raises(helm.HelmError) as caught:
        helm.template([path])
    assert needle in str(caught.value), str(caught.value)
