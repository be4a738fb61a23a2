"""Kafka-aware readiness on the devstack: the objects kplane renders for a 1 controller +
1 broker cluster (workers.builders.cluster, the exec probe /opt/kplane/kafka-ready included)
run as real pods; SIGSTOPping the broker's JVM makes the pod NotReady and takes it out of the
bootstrap Service's Endpoints within 10 s; SIGCONT brings both back.

A tcpSocket probe kept a frozen broker Ready (the kernel accepts connections for the JVM).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devstack import kafka_dist
from devstack.kube.process import ProcRef
from devstack.kube.rest import KubeRest
from devstack.kube.substrate import KubeSubstrate
from devstack.pytest_plugin import delete_namespace, pod_condition, wait_pod_ready, wait_until
from workers.adapters.kube import HttpKube
from workers.builders import cluster, names

BROKER_POD = f"{names.BROKERS}-0"
CONTROLLER_POD = f"{names.CONTROLLERS}-0"
NOT_READY_WITHIN = 10.0


@dataclass
class RenderedCluster:
    namespace: str
    rest: KubeRest
    substrate: KubeSubstrate

    def pod(self, name: str) -> dict[str, Any]:
        found = self.rest.get(f"/api/v1/namespaces/{self.namespace}/pods/{name}")
        assert isinstance(found, dict)
        return found

    def ready(self, name: str) -> bool:
        return pod_condition(self.pod(name), "Ready")

    def bootstrap_addresses(self) -> tuple[set[str], set[str]]:
        """(ready, not ready) addresses of the bootstrap Service's Endpoints."""
        eps = self.rest.get_or_none(
            f"/api/v1/namespaces/{self.namespace}/endpoints/{names.BOOTSTRAP_SVC}"
        )
        subsets = (eps or {}).get("subsets") or []
        ready = {a["ip"] for s in subsets for a in s.get("addresses", [])}
        not_ready = {a["ip"] for s in subsets for a in s.get("notReadyAddresses", [])}
        return ready, not_ready

    def kafka_jvm(self, pod: str) -> ProcRef:
        for proc in self.substrate.pod_processes(self.namespace, pod):
            try:
                cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            if b"kafka.Kafka" in cmdline:
                return proc
        raise AssertionError(f"no Kafka JVM in pod {pod}")


@pytest.fixture(scope="module")
def rendered(kube_substrate: KubeSubstrate) -> Iterator[RenderedCluster]:
    version = kafka_dist.default_version()
    kafka_dist.ensure(version)
    spec = cluster.ClusterSpec(
        uid=uuid.uuid4(),
        project_id="readiness",
        cluster_id="frozen",
        kafka_version=version,
        broker_count=1,
        controller_count=1,
        cpu=0.25,
        memory_gib=0.75,
        storage_gib=1,
    )
    opts = cluster.BuildOptions(
        admin_password="readiness-password-0123", jvm_profile="small", controller_memory_mib=512
    )
    kube = HttpKube.from_config(str(kube_substrate.kubeconfig_path))
    rest = kube_substrate.rest()
    ns = names.namespace_of(spec.uid)
    try:
        kube.apply([cluster.namespace(spec), *cluster.manifests(spec, opts)])
        rendered = RenderedCluster(ns, rest, kube_substrate)
        for pod in (CONTROLLER_POD, BROKER_POD):
            wait_pod_ready(rest, ns, pod, timeout=240)
        yield rendered
    finally:
        kube.close()
        delete_namespace(rest, ns)


def test_the_rendered_probe_asks_kafka_not_the_kernel(rendered: RenderedCluster) -> None:
    for pod, port in ((BROKER_POD, names.CLIENT_PORT), (CONTROLLER_POD, names.CONTROLLER_PORT)):
        probe = rendered.pod(pod)["spec"]["containers"][0]["readinessProbe"]
        assert probe["exec"]["command"][:2] == ["/opt/kplane/kafka-ready", str(port)]
        assert "tcpSocket" not in probe


def test_a_frozen_broker_leaves_the_endpoints_and_comes_back(rendered: RenderedCluster) -> None:
    ip = rendered.pod(BROKER_POD)["status"]["podIP"]
    wait_until(
        lambda: rendered.bootstrap_addresses() == ({ip}, set()),
        30,
        "the broker as the bootstrap Service's only ready address",
    )
    jvm = rendered.kafka_jvm(BROKER_POD)
    os.kill(jvm.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        wait_until(lambda: not rendered.ready(BROKER_POD), 30, "the frozen broker NotReady")
        not_ready_after = time.monotonic() - stopped
        wait_until(
            lambda: rendered.bootstrap_addresses() == (set(), {ip}),
            30,
            "the frozen broker among the Endpoints' notReadyAddresses only",
        )
        out_after = time.monotonic() - stopped
        # Still the same process, only frozen: no restart, the controller stays Ready.
        assert jvm.alive()
        assert rendered.pod(BROKER_POD)["status"]["containerStatuses"][0]["restartCount"] == 0
        assert rendered.ready(CONTROLLER_POD)
    finally:
        os.kill(jvm.pid, signal.SIGCONT)
    continued = time.monotonic()
    wait_until(lambda: rendered.ready(BROKER_POD), 30, "the broker Ready after SIGCONT")
    wait_until(
        lambda: rendered.bootstrap_addresses() == ({ip}, set()),
        30,
        "the broker back among the ready addresses",
    )
    back_after = time.monotonic() - continued
    print(
        f"SIGSTOP -> NotReady {not_ready_after:.1f}s, -> out of Endpoints {out_after:.1f}s; "
        f"SIGCONT -> back in Endpoints {back_after:.1f}s"
    )
    assert not_ready_after <= NOT_READY_WITHIN, f"NotReady only after {not_ready_after:.1f}s"
    assert out_after <= NOT_READY_WITHIN, f"out of the Endpoints only after {out_after:.1f}s"
