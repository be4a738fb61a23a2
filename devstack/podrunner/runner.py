"""The devstack node: registers a Node, binds pending pods to it, and runs them.

It runs as its own process (`python -m devstack.podrunner`), started by the substrate, for the
reasons the kubelet is a daemon: it outlives a crashing test process, its probe loops and
process supervision do not compete with the tests for one interpreter's GIL, and stopping it
is one signal. On SIGTERM it stops every pod (SIGTERM, grace capped by `shutdown_grace`,
SIGKILL), removes every network namespace and the bridge, and exits.

Scheduling is a binding through `pods/{name}/binding`, as kube-scheduler does it, for pods of
the default scheduler whose nodeSelector and required node affinity match this node. Resource
requests and inter-pod (anti-)affinity are not considered: there is one node.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devstack.kube.binaries import KUBE_VERSION
from devstack.kube.rest import STRATEGIC_MERGE_PATCH, KubeApiError, KubeRest
from devstack.podrunner.informer import Informer
from devstack.podrunner.network import PodNetwork
from devstack.podrunner.pod import DnsEntry, PodWorker
from devstack.podrunner.storage import LocalProvisioner

JsonDict = dict[str, Any]
log = logging.getLogger("devstack.podrunner")

LEASE_SECONDS = 40
HEARTBEAT_EVERY = 10.0


@dataclass(frozen=True)
class RunnerConfig:
    server: str
    token: str
    ca_file: str
    node_name: str
    workdir: Path
    net_id: str
    pod_subnet: str
    restart_backoff: float = 10.0
    shutdown_grace: float = 30.0

    @classmethod
    def load(cls, path: Path) -> RunnerConfig:
        raw = json.loads(path.read_text())
        raw["workdir"] = Path(raw["workdir"])
        return cls(**raw)


def _match_expression(expr: JsonDict, labels: dict[str, str]) -> bool:
    key, op, values = expr["key"], expr["operator"], expr.get("values", [])
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels:
        try:
            left, right = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return left > right if op == "Gt" else left < right
    return False


def fits_node(pod: JsonDict, labels: dict[str, str]) -> str:
    """Empty when the pod may run on a node with `labels`, else why not."""
    spec = pod["spec"]
    for key, value in spec.get("nodeSelector", {}).items():
        if labels.get(key) != value:
            return f"node(s) didn't match Pod's node selector ({key}={value})"
    required = (
        spec.get("affinity", {})
        .get("nodeAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution")
    )
    if required:
        terms = required.get("nodeSelectorTerms", [])
        if not any(
            all(_match_expression(e, labels) for e in term.get("matchExpressions", []))
            for term in terms
        ):
            return "node(s) didn't match Pod's node affinity/selector"
    return ""


class PodRunner:
    """The node. Implements the RunnerContext the pod workers use."""

    def __init__(self, config: RunnerConfig) -> None:
        import ipaddress

        self.config = config
        self.node_name = config.node_name
        self.rest = KubeRest(config.server, config.token, config.ca_file)
        self.network = PodNetwork(config.net_id, ipaddress.IPv4Network(config.pod_subnet))
        self.host_ip = self.network.gateway
        self.pods_dir = config.workdir / "pods"
        self.volumes_dir = config.workdir / "volumes"
        self.restart_backoff = config.restart_backoff
        self.allocatable = self._allocatable()
        self.labels = {
            "kubernetes.io/hostname": self.node_name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64" if platform.machine() == "x86_64" else platform.machine(),
            "node.kubernetes.io/instance-type": "devstack",
        }
        self.provisioner = LocalProvisioner(self.rest, self.volumes_dir)
        self.stop_event = threading.Event()
        self._workers: dict[str, PodWorker] = {}
        self._workers_lock = threading.Lock()
        self._dns: dict[str, DnsEntry] = {}
        self._dns_lock = threading.Lock()
        self._unschedulable_reported: set[str] = set()
        self._events_sent: dict[tuple[str, str, str], float] = {}
        self._kafka_lock = threading.Lock()

    # -- RunnerContext ------------------------------------------------------------------------

    def kafka_home(self, version: str) -> Path:
        # One resolution at a time: Maven downloads of the same version must not race.
        with self._kafka_lock:
            from devstack import kafka_dist

            return kafka_dist.ensure(version)

    def publish_dns(self, uid: str, entry: DnsEntry | None) -> None:
        with self._dns_lock:
            if entry is None:
                self._dns.pop(uid, None)
            else:
                self._dns[uid] = entry
        with self._workers_lock:
            workers = list(self._workers.values())
        for worker in workers:
            try:
                worker.refresh_hosts()
            except OSError:
                log.exception("writing the hosts file of %s failed", worker.pod_name)

    def hosts_file_for(self, uid: str) -> str:
        """The pod's /etc/hosts: itself, and every pod with a hostname and subdomain (what
        cluster DNS serves for StatefulSet pods behind a headless Service)."""
        with self._dns_lock:
            entries = dict(self._dns)
        own = entries.get(uid)
        lines = [
            "# Kubernetes-managed hosts file (devstack pod runner).",
            "127.0.0.1\tlocalhost",
            "::1\tlocalhost ip6-localhost ip6-loopback",
        ]
        if own is not None:
            names = [own.hostname]
            if own.subdomain:
                base = f"{own.hostname}.{own.subdomain}"
                names = [
                    f"{base}.{own.namespace}.svc.cluster.local",
                    f"{base}.{own.namespace}.svc",
                    base,
                    own.hostname,
                ]
            lines.append(f"{own.ip}\t{' '.join(names)}")
        for peer_uid, peer in sorted(entries.items(), key=lambda kv: kv[1].ip):
            if peer_uid == uid or not peer.subdomain:
                continue
            names = [f"{peer.hostname}.{peer.subdomain}.{peer.namespace}.svc.cluster.local"]
            names.append(f"{peer.hostname}.{peer.subdomain}.{peer.namespace}.svc")
            if own is not None and own.namespace == peer.namespace:
                names.append(f"{peer.hostname}.{peer.subdomain}")
            lines.append(f"{peer.ip}\t{' '.join(names)}")
        if own is not None:
            with self._workers_lock:
                worker = self._workers.get(uid)
            for alias in worker.pod["spec"].get("hostAliases", []) if worker else []:
                lines.append(f"{alias['ip']}\t{' '.join(alias.get('hostnames', []))}")
        return "\n".join(lines) + "\n"

    def event(
        self, pod: JsonDict, kind: str, reason: str, message: str, component: str = "kubelet"
    ) -> None:
        meta = pod["metadata"]
        key = (meta["uid"], reason, message)
        now = time.monotonic()
        if now - self._events_sent.get(key, -1e9) < 60:
            return  # the kubelet's recorder aggregates repeats; dropping them is close enough
        self._events_sent[key] = now
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
            },
            "reason": reason,
            "message": message,
            "type": kind,
            "source": {"component": component, "host": self.node_name},
            "reportingComponent": component,
            "reportingInstance": self.node_name,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        try:
            self.rest.create(f"/api/v1/namespaces/{meta['namespace']}/events", body)
        except (KubeApiError, httpx.HTTPError) as exc:
            log.debug("event %s for %s not recorded: %s", reason, meta["name"], exc)

    def worker_done(self, uid: str) -> None:
        with self._workers_lock:
            self._workers.pop(uid, None)

    # -- node ---------------------------------------------------------------------------------

    @staticmethod
    def _allocatable() -> dict[str, str]:
        mem_kib = 0
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    mem_kib = int(line.split()[1])
        disk = shutil.disk_usage("/")
        return {
            "cpu": str(os.cpu_count() or 1),
            "memory": f"{mem_kib}Ki",
            "ephemeral-storage": str(disk.total),
            "pods": "110",
        }

    def _node_status(self) -> JsonDict:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

        def condition(kind: str, status: str, reason: str, message: str) -> JsonDict:
            return {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "lastHeartbeatTime": stamp,
                "lastTransitionTime": self._started_at,
            }

        uname = platform.uname()
        return {
            "capacity": self.allocatable,
            "allocatable": self.allocatable,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "ok"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "ok"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "ok"),
                condition("Ready", "True", "KubeletReady", "devstack pod runner is posting ready"),
            ],
            "addresses": [
                {"type": "InternalIP", "address": self.host_ip},
                {"type": "Hostname", "address": self.node_name},
            ],
            "nodeInfo": {
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
                "kernelVersion": uname.release,
                "osImage": "devstack (host processes)",
                "containerRuntimeVersion": "devstack://0.1",
                "kubeletVersion": f"v{KUBE_VERSION}",
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": self.labels["kubernetes.io/arch"],
            },
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
        }

    def _register(self) -> None:
        self._started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.node_name, "labels": self.labels},
            "spec": {"podCIDR": str(self.network.subnet), "podCIDRs": [str(self.network.subnet)]},
            "status": self._node_status(),
        }
        try:
            self.rest.create("/api/v1/nodes", body)
        except KubeApiError as exc:
            if exc.status != 409:
                raise
            self.rest.patch(
                f"/api/v1/nodes/{self.node_name}", {"metadata": {"labels": self.labels}}
            )
        self._heartbeat()

    def _heartbeat(self) -> None:
        self.rest.patch(
            f"/api/v1/nodes/{self.node_name}/status",
            {"status": self._node_status()},
            STRATEGIC_MERGE_PATCH,
        )
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        lease_path = (
            f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{self.node_name}"
        )
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.node_name, "namespace": "kube-node-lease"},
            "spec": {
                "holderIdentity": self.node_name,
                "leaseDurationSeconds": LEASE_SECONDS,
                "renewTime": stamp,
            },
        }
        try:
            self.rest.patch(lease_path, {"spec": lease["spec"]})
        except KubeApiError as exc:
            if exc.status != 404:
                raise
            self.rest.create(
                "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease
            )

    # -- pods ---------------------------------------------------------------------------------

    def _bind(self, pod: JsonDict) -> None:
        meta = pod["metadata"]
        reason = fits_node(pod, self.labels)
        if reason:
            if meta["uid"] not in self._unschedulable_reported:
                self._unschedulable_reported.add(meta["uid"])
                self.rest.patch(
                    f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status",
                    {
                        "status": {
                            "conditions": [
                                {
                                    "type": "PodScheduled",
                                    "status": "False",
                                    "reason": "Unschedulable",
                                    "message": f"0/1 nodes are available: 1 {reason}.",
                                    "lastProbeTime": None,
                                }
                            ]
                        }
                    },
                    STRATEGIC_MERGE_PATCH,
                )
            return
        try:
            self.rest.create(
                f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/binding",
                {
                    "apiVersion": "v1",
                    "kind": "Binding",
                    "metadata": {"name": meta["name"], "uid": meta["uid"]},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": self.node_name},
                },
            )
        except KubeApiError as exc:
            if exc.status not in (404, 409):
                raise
            return
        self.event(
            pod,
            "Normal",
            "Scheduled",
            f"Successfully assigned {meta['namespace']}/{meta['name']} to {self.node_name}",
            component="default-scheduler",
        )

    def on_pod(self, kind: str, pod: JsonDict) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        uid = meta["uid"]
        node = spec.get("nodeName")
        if not node:
            scheduler = spec.get("schedulerName", "default-scheduler")
            if (
                kind != "DELETED"
                and not meta.get("deletionTimestamp")
                and scheduler == "default-scheduler"
            ):
                self._bind(pod)
            return
        if node != self.node_name:
            return
        with self._workers_lock:
            worker = self._workers.get(uid)
            if kind == "DELETED":
                if worker is not None:
                    worker.gone()
                return
            if worker is None:
                phase = pod.get("status", {}).get("phase")
                if phase in ("Succeeded", "Failed") and not meta.get("deletionTimestamp"):
                    return  # finished before this runner started: nothing to run
                if self.stop_event.is_set():
                    return
                worker = PodWorker(self, pod)
                self._workers[uid] = worker
                worker.start()
        worker.update(pod)

    # -- main ---------------------------------------------------------------------------------

    def run(self) -> None:
        if os.geteuid() != 0:
            raise SystemExit("the devstack pod runner needs root (network namespaces, a bridge)")
        # Pods of a runner of this workdir that crashed; the bridge stays (the substrate made
        # it, holding the subnet).
        self.network.cleanup_pods()
        self.network.ensure_bridge()
        self.pods_dir.mkdir(parents=True, exist_ok=True)
        self.volumes_dir.mkdir(parents=True, exist_ok=True)
        self.provisioner.ensure_class()
        self._register()
        informers = [
            Informer(self.rest, "/api/v1/pods", self.on_pod, self.stop_event),
            Informer(
                self.rest,
                "/api/v1/persistentvolumeclaims",
                self.provisioner.on_pvc,
                self.stop_event,
            ),
            Informer(
                self.rest, "/api/v1/persistentvolumes", self.provisioner.on_pv, self.stop_event
            ),
        ]
        for informer in informers:
            informer.start()
        log.info(
            "node %s ready: pod subnet %s on bridge %s",
            self.node_name,
            self.network.subnet,
            self.network.bridge,
        )
        while not self.stop_event.wait(HEARTBEAT_EVERY):
            try:
                self._heartbeat()
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)
        self._shutdown()

    def _shutdown(self) -> None:
        with self._workers_lock:
            workers = list(self._workers.values())
        log.info("stopping %d pod(s)", len(workers))
        for worker in workers:
            worker.shutdown(self.config.shutdown_grace)
        deadline = time.monotonic() + self.config.shutdown_grace + 10
        for worker in workers:
            worker.join(timeout=max(0.1, deadline - time.monotonic()))
        self.rest.close()
        removed = self.network.cleanup_all()
        log.info("stopped; removed %s", ", ".join(removed) or "nothing")

    def request_stop(self, *_: object) -> None:
        self.stop_event.set()


def install_signal_handlers(handler: Callable[..., None]) -> None:
    import signal

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
