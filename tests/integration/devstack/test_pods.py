"""The pod runner as a node: scheduling, pod network, environment and volumes, probes,
restart policy, graceful deletion, persistent volumes, and refusing what it cannot run.
Generic images (host executables) keep these fast; the broker image has its own test."""

from __future__ import annotations

import ipaddress
import threading
import time
from typing import Any

import httpx
import pytest

from devstack.kube.process import ProcRef
from devstack.kube.rest import KubeApiError, KubeRest
from devstack.kube.substrate import KubeSubstrate
from devstack.pytest_plugin import (
    get_pod,
    pod_condition,
    wait_for_log,
    wait_pod,
    wait_pod_ready,
    wait_until,
)

# A tiny HTTP server whose health the test flips with a POST: probes become deterministic.
SERVER = r"""
import http.server
state = {"healthy": True}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 200 if state["healthy"] else 500
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"healthy" if code == 200 else b"sick")
    def do_POST(self):
        state["healthy"] = not state["healthy"]
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
print("serving", flush=True)
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
"""


def pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    labels = spec.pop("labels", {"app": name})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": containers, **spec},
    }


def server_container(**extra: Any) -> dict[str, Any]:
    return {
        "name": "server",
        "image": "python:3.11-slim",
        "command": ["python3", "-c", SERVER],
        "ports": [{"name": "http", "containerPort": 8080}],
        **extra,
    }


def create(rest: KubeRest, ns: str, manifest: dict[str, Any]) -> dict[str, Any]:
    plural = {
        "Pod": "pods",
        "Service": "services",
        "ConfigMap": "configmaps",
        "Secret": "secrets",
        "PersistentVolumeClaim": "persistentvolumeclaims",
    }
    return rest.create(f"/api/v1/namespaces/{ns}/{plural[manifest['kind']]}", manifest)


def statuses(p: dict[str, Any]) -> dict[str, Any]:
    """The first container's status (a placeholder until the runner wrote one)."""
    found = (p.get("status") or {}).get("containerStatuses") or [{"restartCount": 0, "state": {}}]
    return dict(found[0])


def test_node_is_registered_ready(kube_substrate: KubeSubstrate) -> None:
    node = kube_substrate.rest().get(f"/api/v1/nodes/{kube_substrate.node_name}")
    assert pod_condition(node, "Ready")
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    subnet = kube_substrate.pod_subnet
    assert subnet is not None
    assert ipaddress.ip_address(addresses["InternalIP"]) in subnet


def test_pods_get_private_addresses_and_same_port_endpoints(
    kube_substrate: KubeSubstrate, kube_namespace: str
) -> None:
    rest, ns = kube_substrate.rest(), kube_namespace
    probe = {"tcpSocket": {"port": "http"}, "periodSeconds": 1}
    for name in ("web-a", "web-b"):
        create(rest, ns, pod(name, [server_container(readinessProbe=probe)], labels={"app": "web"}))
    create(
        rest,
        ns,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    )
    ips = {name: wait_pod_ready(rest, ns, name)["status"]["podIP"] for name in ("web-a", "web-b")}

    assert len(set(ips.values())) == 2
    for ip in ips.values():
        address = ipaddress.ip_address(ip)
        assert kube_substrate.pod_subnet is not None
        assert not address.is_loopback
        assert address in kube_substrate.pod_subnet
        # Both listen on 8080, each in its own network namespace, reachable from the node.
        assert httpx.get(f"http://{ip}:8080/", timeout=5).text == "healthy"

    def endpoint_ips() -> set[str] | None:
        eps = rest.get_or_none(f"/api/v1/namespaces/{ns}/endpoints/web")
        found = {a["ip"] for s in (eps or {}).get("subsets", []) for a in s.get("addresses", [])}
        return found if found == set(ips.values()) else None

    wait_until(endpoint_ips, 30, "Endpoints to list both pod addresses")
    slices = rest.get(
        f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
        {"labelSelector": "kubernetes.io/service-name=web"},
    )
    sliced = {a for s in slices["items"] for e in s.get("endpoints") or [] for a in e["addresses"]}
    assert sliced == set(ips.values())


def test_environment_downward_api_and_volumes(
    kube_substrate: KubeSubstrate, kube_namespace: str
) -> None:
    rest, ns = kube_substrate.rest(), kube_namespace
    create(
        rest,
        ns,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg"},
            "data": {"greeting": "hello", "server.properties": "num.partitions=3\n"},
        },
    )
    create(
        rest,
        ns,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "sec"},
            "stringData": {"password": "s3cret-pw"},
        },
    )
    script = (
        'echo "name=$POD_NAME ns=$POD_NAMESPACE ip=$POD_IP node=$NODE_NAME mem=$MEM_MIB '
        'cpu=$CPU greeting=$GREETING pw=$PASSWORD expanded=$EXPANDED"; '
        'echo "cfgfile=$(cat /etc/kplane/config/server.properties)"; '
        'echo "secretfile=$(cat /etc/secret/password)"; '
        'echo "labels=$(cat /etc/podinfo/labels)"; '
        'echo data > /scratch/f && echo "scratch=$(cat $SCRATCH/f)"; '
        'echo "hostname=$(hostname)"; '
        "sleep 3600"
    )
    container = {
        "name": "main",
        "image": "busybox:1.36",
        "command": ["sh", "-c", script],
        "resources": {"limits": {"memory": "256Mi", "cpu": "500m"}},
        "env": [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {
                "name": "POD_NAMESPACE",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
            },
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {
                "name": "MEM_MIB",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
            },
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
            {
                "name": "GREETING",
                "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}},
            },
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}}},
            {"name": "EXPANDED", "value": "$(POD_NAME)-x"},
            {"name": "SCRATCH", "value": "/scratch"},
        ],
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/kplane/config"},
            {"name": "secret", "mountPath": "/etc/secret"},
            {"name": "podinfo", "mountPath": "/etc/podinfo"},
            {"name": "scratch", "mountPath": "/scratch"},
        ],
    }
    create(
        rest,
        ns,
        pod(
            "env",
            [container],
            labels={"tier": "test"},
            volumes=[
                {"name": "config", "configMap": {"name": "cfg"}},
                {"name": "secret", "secret": {"secretName": "sec"}},
                {
                    "name": "podinfo",
                    "downwardAPI": {
                        "items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]
                    },
                },
                {"name": "scratch", "emptyDir": {}},
            ],
        ),
    )
    ready = wait_pod_ready(rest, ns, "env")
    ip = ready["status"]["podIP"]
    log = wait_for_log(kube_substrate, ns, "env", "hostname=")
    assert (
        f"name=env ns={ns} ip={ip} node={kube_substrate.node_name} mem=256 cpu=1 "
        "greeting=hello pw=s3cret-pw expanded=env-x"
    ) in log
    assert "cfgfile=num.partitions=3" in log
    assert "secretfile=s3cret-pw" in log
    assert 'labels=tier="test"' in log
    assert "scratch=data" in log
    assert "hostname=env\n" in log


# The exec probe runs inside the pod: 127.0.0.1 there is the pod's own loopback.
EXEC_CHECK = (
    "import sys, urllib.request\n"
    "try:\n"
    "    urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=1)\n"
    "except Exception:\n"
    "    sys.exit(1)\n"
)
READINESS: dict[str, dict[str, Any]] = {
    "httpGet": {"httpGet": {"port": 8080, "path": "/healthz"}},
    "exec": {"exec": {"command": ["python3", "-c", EXEC_CHECK]}},
}


@pytest.mark.parametrize("kind", sorted(READINESS))
def test_readiness_follows_the_probe(
    kube_substrate: KubeSubstrate, kube_namespace: str, kind: str
) -> None:
    rest, ns = kube_substrate.rest(), kube_namespace
    probe = {**READINESS[kind], "periodSeconds": 1, "failureThreshold": 1}
    create(rest, ns, pod("ready", [server_container(readinessProbe=probe)]))
    ip = wait_pod_ready(rest, ns, "ready")["status"]["podIP"]

    httpx.post(f"http://{ip}:8080/toggle", timeout=5)  # now answers 500
    wait_pod(rest, ns, "ready", lambda p: not pod_condition(p, "Ready"), 20, "not Ready")
    assert statuses(get_pod(rest, ns, "ready") or {})["restartCount"] == 0  # readiness never kills

    httpx.post(f"http://{ip}:8080/toggle", timeout=5)
    wait_pod_ready(rest, ns, "ready", timeout=20)


def test_liveness_failure_restarts_the_container(
    kube_substrate: KubeSubstrate, kube_namespace: str
) -> None:
    rest, ns = kube_substrate.rest(), kube_namespace
    probe = {
        "httpGet": {"port": "http", "path": "/"},
        "initialDelaySeconds": 1,
        "periodSeconds": 1,
        "failureThreshold": 2,
    }
    # Readiness from the same endpoint: Ready means the server answers.
    ready = {"tcpSocket": {"port": 8080}, "periodSeconds": 1}
    container = server_container(livenessProbe=probe, readinessProbe=ready)
    create(rest, ns, pod("live", [container], terminationGracePeriodSeconds=2))
    ip = wait_pod_ready(rest, ns, "live")["status"]["podIP"]
    before = {p.pid for p in kube_substrate.pod_processes(ns, "live")}
    # While healthy, passing liveness probes restart nothing.
    with pytest.raises(AssertionError):
        wait_pod(rest, ns, "live", lambda p: statuses(p)["restartCount"] > 0, 2.5, "no restart")

    httpx.post(f"http://{ip}:8080/toggle", timeout=5)
    restarted = wait_pod(
        rest,
        ns,
        "live",
        lambda p: statuses(p)["restartCount"] == 1 and pod_condition(p, "Ready"),
        30,
        "restarted once and Ready again",
    )
    last = statuses(restarted)["lastState"]["terminated"]
    assert last["exitCode"] != 0
    after = {p.pid for p in kube_substrate.pod_processes(ns, "live")}
    assert after and not (after & before)
    assert httpx.get(f"http://{ip}:8080/", timeout=5).text == "healthy"  # a fresh process


@pytest.mark.parametrize(
    ("policy", "exit_code", "phase"),
    [
        ("Never", 3, "Failed"),
        ("OnFailure", 0, "Succeeded"),
        ("OnFailure", 4, None),
        ("Always", 0, None),
    ],
)
def test_restart_policy(
    kube_substrate: KubeSubstrate,
    kube_namespace: str,
    policy: str,
    exit_code: int,
    phase: str | None,
) -> None:
    rest, ns = kube_substrate.rest(), kube_namespace
    container = {"name": "job", "image": "busybox", "command": ["sh", "-c", f"exit {exit_code}"]}
    create(rest, ns, pod("once", [container], restartPolicy=policy))
    if phase is not None:
        done = wait_pod(rest, ns, "once", lambda p: p["status"].get("phase") == phase, 30, phase)
        status = statuses(done)
        assert status["state"]["terminated"]["exitCode"] == exit_code
        assert status["restartCount"] == 0
        # A finished pod stays finished: no restart shows up within a few probe periods.
        with pytest.raises(AssertionError):
            wait_pod(rest, ns, "once", lambda p: statuses(p)["restartCount"] > 0, 2, "no restart")
    else:
        restarted = wait_pod(
            rest, ns, "once", lambda p: statuses(p)["restartCount"] >= 1, 30, "a restart"
        )
        assert restarted["status"]["phase"] == "Running"
        assert statuses(restarted)["lastState"]["terminated"]["exitCode"] == exit_code


GRACE = 6


def test_deletion_sends_sigterm_then_sigkill_after_the_grace_period(
    kube_substrate: KubeSubstrate, kube_namespace: str
) -> None:
    rest, ns = kube_substrate.rest(), kube_namespace
    polite = 'trap "echo got SIGTERM; exit 0" TERM; echo started; while true; do sleep 0.1; done'
    stubborn = 'trap "echo ignoring SIGTERM" TERM; echo started; while true; do sleep 0.1; done'
    for name, script in (("polite", polite), ("stubborn", stubborn)):
        container = {"name": "main", "image": "busybox", "command": ["sh", "-c", script]}
        create(rest, ns, pod(name, [container], terminationGracePeriodSeconds=GRACE))
    uids = {}
    procs: dict[str, list[ProcRef]] = {}
    for name in ("polite", "stubborn"):
        uids[name] = wait_pod_ready(rest, ns, name)["metadata"]["uid"]
        procs[name] = kube_substrate.pod_processes(ns, name)
        assert procs[name]
        wait_for_log(kube_substrate, ns, name, "started", 10)

    gone_after: dict[str, float] = {}

    def delete_and_time(name: str) -> None:
        t0 = time.monotonic()
        rest.delete(f"/api/v1/namespaces/{ns}/pods/{name}")
        wait_until(lambda: get_pod(rest, ns, name) is None, 30, f"{name} deleted")
        assert all(not p.alive() for p in procs[name])
        gone_after[name] = time.monotonic() - t0

    threads = [threading.Thread(target=delete_and_time, args=(n,)) for n in ("polite", "stubborn")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert set(gone_after) == {"polite", "stubborn"}
    assert gone_after["polite"] < GRACE - 1, gone_after  # exited on SIGTERM: no waiting
    assert GRACE <= gone_after["stubborn"] < GRACE + 8, gone_after  # SIGKILL after the grace
    polite_log = kube_substrate.pod_log(ns, "polite", "main", uid=uids["polite"])
    stubborn_log = kube_substrate.pod_log(ns, "stubborn", "main", uid=uids["stubborn"])
    assert "got SIGTERM" in polite_log
    assert "ignoring SIGTERM" in stubborn_log


def test_images_it_cannot_run_are_reported(
    kube_substrate: KubeSubstrate, kube_namespace: str
) -> None:
    rest, ns = kube_substrate.rest(), kube_namespace
    create(rest, ns, pod("nginx", [{"name": "web", "image": "nginx:1.27"}]))
    create(
        rest,
        ns,
        pod(
            "nocmd",
            [{"name": "main", "image": "busybox", "command": ["no-such-binary"]}],
            restartPolicy="Never",
        ),
    )
    waiting = wait_pod(
        rest,
        ns,
        "nginx",
        lambda p: statuses(p)["state"].get("waiting", {}).get("reason") == "ImageNotRunnable",
        30,
        "waiting: ImageNotRunnable",
    )
    assert "nginx:1.27" in statuses(waiting)["state"]["waiting"]["message"]
    assert waiting["status"]["phase"] == "Pending"
    failed = wait_pod(
        rest, ns, "nocmd", lambda p: p["status"].get("phase") == "Failed", 30, "Failed"
    )
    terminated = statuses(failed)["state"]["terminated"]
    assert terminated["reason"] == "StartError" and terminated["exitCode"] == 128
    assert "no-such-binary" in terminated["message"]


def test_unschedulable_pod_stays_pending(
    kube_substrate: KubeSubstrate, kube_namespace: str
) -> None:
    rest, ns = kube_substrate.rest(), kube_namespace
    create(
        rest,
        ns,
        pod(
            "picky",
            [{"name": "main", "image": "busybox", "command": ["sleep", "60"]}],
            nodeSelector={"disktype": "ssd"},
        ),
    )
    pending = wait_pod(
        rest,
        ns,
        "picky",
        lambda p: any(
            c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable"
            for c in p["status"].get("conditions", [])
        ),
        30,
        "PodScheduled=False Unschedulable",
    )
    assert not pending["spec"].get("nodeName")


def test_init_containers_run_first(kube_substrate: KubeSubstrate, kube_namespace: str) -> None:
    rest, ns = kube_substrate.rest(), kube_namespace
    mount = [{"name": "shared", "mountPath": "/shared"}]
    init = {
        "name": "init",
        "image": "busybox",
        "command": ["sh", "-c", "echo prepared > /shared/x"],
        "volumeMounts": mount,
    }
    main = {
        "name": "main",
        "image": "busybox",
        "volumeMounts": mount,
        "command": ["sh", "-c", "cat /shared/x; sleep 3600"],
    }
    create(
        rest,
        ns,
        pod("init", [main], initContainers=[init], volumes=[{"name": "shared", "emptyDir": {}}]),
    )
    ready = wait_pod_ready(rest, ns, "init")
    init_status = ready["status"]["initContainerStatuses"][0]
    assert init_status["state"]["terminated"]["exitCode"] == 0
    wait_until(
        lambda: "prepared" in kube_substrate.pod_log(ns, "init", "main"), 10, "main read the file"
    )


def test_persistent_volume_outlives_the_pod_and_expands(
    kube_substrate: KubeSubstrate, kube_namespace: str
) -> None:
    rest, ns = kube_substrate.rest(), kube_namespace
    create(
        rest,
        ns,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    pvc_path = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data"

    def bound_claim() -> dict[str, Any] | None:
        claim = rest.get(pvc_path)
        return claim if claim["status"].get("phase") == "Bound" else None

    bound = wait_until(bound_claim, 30, "PVC Bound")
    assert bound["spec"]["storageClassName"] == "kplane-local"  # the default class
    pv_name = bound["spec"]["volumeName"]
    script = (
        "[ -f /data/first ] || date +%s%N > /data/first; echo first=$(cat /data/first); sleep 3600"
    )
    container = {
        "name": "main",
        "image": "busybox",
        "command": ["sh", "-c", script],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    spec = {
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
        "terminationGracePeriodSeconds": 1,
    }

    def first_line(name: str) -> str:
        log = wait_for_log(kube_substrate, ns, name, "first=", 20)
        return log.split("first=")[1].split()[0]

    create(rest, ns, pod("writer", [container], **spec))
    wait_pod_ready(rest, ns, "writer")
    written = first_line("writer")
    rest.delete(f"/api/v1/namespaces/{ns}/pods/writer")
    wait_until(lambda: get_pod(rest, ns, "writer") is None, 30, "writer deleted")

    create(rest, ns, pod("reader", [container], **spec))
    wait_pod_ready(rest, ns, "reader")
    assert first_line("reader") == written

    rest.patch(pvc_path, {"spec": {"resources": {"requests": {"storage": "2Gi"}}}})
    wait_until(
        lambda: rest.get(pvc_path)["status"].get("capacity", {}).get("storage") == "2Gi",
        30,
        "PVC status.capacity 2Gi",
    )
    assert rest.get(f"/api/v1/persistentvolumes/{pv_name}")["spec"]["capacity"]["storage"] == "2Gi"

    # Deleting the claim releases the volume; the provisioner deletes it (reclaim Delete).
    rest.delete(f"/api/v1/namespaces/{ns}/pods/reader")
    rest.delete(pvc_path)

    def pv_gone() -> bool:
        try:
            return rest.get_or_none(f"/api/v1/persistentvolumes/{pv_name}") is None
        except KubeApiError:
            return False

    wait_until(pv_gone, 60, f"PersistentVolume {pv_name} deleted")
