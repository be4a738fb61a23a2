"""A real Kubernetes control plane on this machine: etcd, kube-apiserver,
kube-controller-manager and the devstack pod runner acting as the one node.

Everything listens on loopback ports chosen at start, with a throwaway CA and static tokens.
The workdir holds all state (PKI, etcd data, logs, pod volumes) and a `state.json` naming every
process started, by PID and start time, and the network prefix. A start first cleans up what a
crashed run of the same workdir left behind (its recorded processes, its network namespaces and
bridge); a lock on the workdir keeps two live substrates from sharing it.

Usage:

    with KubeSubstrate(Path(".run/devstack")) as kube:
        api = kube.api_client()          # kubernetes.client.ApiClient, admin
        ...                              # kube.kubeconfig_path for other tools
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
import yaml

from devstack.kube import binaries, pki
from devstack.kube.process import ProcRef, processes_in_netns
from devstack.kube.rest import KubeApiError, KubeRest
from devstack.podrunner.network import (
    NETNS_DIR,
    PodNetwork,
    claim_subnet,
    cleanup,
    host_network_lock,
    leftovers,
    net_id_for,
)
from devstack.podrunner.paths import netns_name_for, pod_dir_name

# Controllers the local cluster runs. What kplane's StatefulSets, Services, PDBs and PVCs need
# (statefulset, endpoints, endpointslices, disruption, the PV/PVC binder and protections), what
# keeps namespaces deletable (namespace, garbage collector), and what makes pods admissible
# (serviceaccount + token controllers). No node-lifecycle controller: there is one node and the
# pod runner is it; no scheduler: the pod runner binds.
CONTROLLERS = (
    "namespace-controller",
    "garbage-collector-controller",
    "statefulset-controller",
    "disruption-controller",
    "endpoints-controller",
    "endpointslice-controller",
    "endpointslice-mirroring-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    "persistentvolume-binder-controller",
    "persistentvolume-protection-controller",
    "persistentvolumeclaim-protection-controller",
    "replicaset-controller",
    "deployment-controller",
    "job-controller",
    "ttl-after-finished-controller",
    "pod-garbage-collector-controller",
    "clusterrole-aggregation-controller",
    "service-cidr-controller",
)

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "podrunner")
DEFAULT_NODE_NAME = "devstack-node"
DEFAULT_SERVICE_CIDR = "10.96.0.0/24"
DEFAULT_POD_POOL = "10.244.0.0/16"


class SubstrateError(RuntimeError):
    """The substrate could not start (the message names the component and its log)."""


class SubstrateBusy(SubstrateError):
    """Another live substrate holds the workdir."""


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def write_kubeconfig(path: Path, server: str, ca_file: Path, user: str, token: str) -> None:
    """A kubeconfig with one cluster, one token user and one current context."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "kplane-devstack",
                "cluster": {"server": server, "certificate-authority": str(ca_file)},
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {"name": "kplane-devstack", "context": {"cluster": "kplane-devstack", "user": user}}
        ],
        "current-context": "kplane-devstack",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


class KubeSubstrate:
    """etcd + kube-apiserver + kube-controller-manager + pod runner under one workdir."""

    def __init__(
        self,
        workdir: Path,
        *,
        pod_subnet: str | None = None,
        service_cidr: str = DEFAULT_SERVICE_CIDR,
        node_name: str = DEFAULT_NODE_NAME,
        kube_version: str = binaries.KUBE_VERSION,
        restart_backoff: float = 10.0,
        shutdown_grace: float = 30.0,
    ) -> None:
        self.workdir = workdir.resolve()
        self.node_name = node_name
        self.kube_version = kube_version
        self.service_cidr = ipaddress.IPv4Network(service_cidr)
        self.restart_backoff = restart_backoff
        self.shutdown_grace = shutdown_grace
        self._requested_subnet = ipaddress.IPv4Network(pod_subnet) if pod_subnet else None
        self.net_id = net_id_for(self.workdir)
        self.pod_subnet: ipaddress.IPv4Network | None = None
        self.server = ""
        self._lock_file: IO[str] | None = None
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._refs: dict[str, ProcRef] = {}
        self._pki: pki.Pki | None = None
        self._rest: KubeRest | None = None
        self.apiserver_ready_seconds = 0.0

    # -- public surface -----------------------------------------------------------------------

    @property
    def kubeconfig_path(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def state_path(self) -> Path:
        return self.workdir / "state.json"

    @property
    def log_dir(self) -> Path:
        return self.workdir / "logs"

    @property
    def podrunner_dir(self) -> Path:
        return self.workdir / "podrunner"

    @property
    def ca_file(self) -> Path:
        return self.workdir / "pki" / "ca.crt"

    @property
    def admin_token(self) -> str:
        if self._pki is None:
            raise SubstrateError("the substrate is not started")
        return self._pki.admin.token

    def rest(self) -> KubeRest:
        """The devstack's own JSON client, authenticated as admin."""
        if self._rest is None:
            raise SubstrateError("the substrate is not started")
        return self._rest

    def api_client(self) -> Any:
        """A new `kubernetes.client.ApiClient` for the admin identity."""
        from kubernetes import config

        new_client: Any = config.new_client_from_config  # untyped in the client library
        return new_client(config_file=str(self.kubeconfig_path))

    def pids(self) -> dict[str, ProcRef]:
        """The component processes this substrate started (etcd, apiserver, ...)."""
        return dict(self._refs)

    def pod_processes(self, namespace: str, name: str) -> list[ProcRef]:
        """Processes running in a pod's network namespace (its containers and their children)."""
        pod = self.rest().get(f"/api/v1/namespaces/{namespace}/pods/{name}")
        return processes_in_netns(NETNS_DIR / netns_name_for(self.net_id, pod["metadata"]["uid"]))

    def all_pod_processes(self) -> list[ProcRef]:
        """Processes in any of this substrate's pod network namespaces."""
        if not NETNS_DIR.exists():
            return []
        prefix = f"kp-{self.net_id}-"
        found: list[ProcRef] = []
        for name in sorted(os.listdir(NETNS_DIR)):
            if name.startswith(prefix):
                found += processes_in_netns(NETNS_DIR / name)
        return found

    def pod_log(
        self,
        namespace: str,
        name: str,
        container: str | None = None,
        previous: bool = False,
        uid: str | None = None,
    ) -> str:
        """A container's stdout and stderr, as `kubectl logs` would show them. Pass the pod's
        `uid` (and `container`) to read the log of a pod that was deleted meanwhile."""
        if uid is None or container is None:
            pod = self.rest().get(f"/api/v1/namespaces/{namespace}/pods/{name}")
            uid = pod["metadata"]["uid"]
            container = container or pod["spec"]["containers"][0]["name"]
        meta = {"namespace": namespace, "name": name, "uid": uid}
        directory = self.podrunner_dir / "pods" / pod_dir_name(meta)
        path = (
            directory / "logs" / (f"{container}.previous.log" if previous else f"{container}.log")
        )
        try:
            return path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def network_leftovers(self) -> list[str]:
        return leftovers(self.net_id)

    def __enter__(self) -> KubeSubstrate:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- start --------------------------------------------------------------------------------

    def start(self, timeout: float = 120.0) -> KubeSubstrate:
        """Start every component and return once the node is Ready; clean up on failure."""
        if os.geteuid() != 0:
            raise SubstrateError(
                "the devstack needs root: the pod runner creates network namespaces and a bridge"
            )
        bins = binaries.ensure(self.kube_version)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        try:
            self._cleanup_stale()
            self._start_all(bins, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _acquire_lock(self) -> None:
        handle = open(self.workdir / ".lock", "a+")  # noqa: SIM115 - held for the lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise SubstrateBusy(
                f"{self.workdir} is used by a running devstack (pid {owner}); "
                "stop it first or use another workdir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_file = handle

    def _cleanup_stale(self) -> None:
        """Stop what a crashed run of this workdir left: its processes, pods and network."""
        if self.state_path.exists():
            try:
                state = json.loads(self.state_path.read_text())
            except ValueError:
                state = {}
            # Reverse start order: the pod runner first, etcd last.
            for name in reversed(COMPONENTS):
                value = state.get("pids", {}).get(name)
                if value:
                    ProcRef.from_json(value).stop(grace=5.0)
        cleanup(self.net_id)
        for sub in ("etcd", "podrunner", "pki"):
            shutil.rmtree(self.workdir / sub, ignore_errors=True)
        self.state_path.unlink(missing_ok=True)

    def _save_state(self) -> None:
        owner = ProcRef.of(os.getpid())
        state = {
            "owner": owner.to_json() if owner else None,
            "pids": {name: ref.to_json() for name, ref in self._refs.items()},
            "net_id": self.net_id,
            "pod_subnet": str(self.pod_subnet) if self.pod_subnet else None,
            "server": self.server,
            "kubeconfig": str(self.kubeconfig_path),
            "kube_version": self.kube_version,
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_path)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{name}.log", "wb") as log:
            # A session of its own: a Ctrl-C in the terminal of `make devstack-up` or pytest
            # does not reach the components; the substrate stops them in order instead.
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=env,
                start_new_session=True,
            )
        ref = ProcRef.of(proc.pid)
        if ref is None:
            raise SubstrateError(f"{name} exited at once; log: {self.log_dir / name}.log")
        self._procs[name] = proc
        self._refs[name] = ref
        self._save_state()

    def _wait(self, name: str, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if ready():
                    return
            except (httpx.HTTPError, KubeApiError, OSError):
                pass
            for comp, proc in self._procs.items():
                if proc.poll() is not None:
                    raise SubstrateError(
                        f"{comp} exited with status {proc.returncode} while waiting for {what}; "
                        f"last lines of {self.log_dir / comp}.log:\n"
                        f"{_tail(self.log_dir / f'{comp}.log')}"
                    )
            if time.monotonic() > deadline:
                raise SubstrateError(
                    f"timed out after {timeout:.0f}s waiting for {what}; last lines of "
                    f"{self.log_dir / name}.log:\n{_tail(self.log_dir / f'{name}.log')}"
                )
            time.sleep(0.1)

    def _start_all(self, bins: binaries.KubeBinaries, timeout: float) -> None:
        # The bridge is made here, under a host-wide lock, not later by the pod runner: two
        # substrates starting at once must not both pick the same free subnet.
        if self._requested_subnet is None:
            self.pod_subnet = claim_subnet(self.net_id, DEFAULT_POD_POOL)
        else:
            self.pod_subnet = self._requested_subnet
            with host_network_lock():
                PodNetwork(self.net_id, self.pod_subnet).ensure_bridge()
        service_ip = str(next(self.service_cidr.hosts()))
        self._pki = keys = pki.generate(self.workdir / "pki", service_ip)

        # etcd
        client_port, peer_port = _free_port(), _free_port()
        etcd_url = f"http://127.0.0.1:{client_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        self._spawn(
            "etcd",
            [
                str(bins.etcd),
                "--name=devstack",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=devstack={peer_url}",
                # A throwaway cluster: no fsync keeps etcd from dominating a shared disk.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        with httpx.Client(timeout=2.0) as plain:
            self._wait(
                "etcd",
                lambda: plain.get(f"{etcd_url}/health").json().get("health") == "true",
                timeout,
                "etcd /health",
            )

        # kube-apiserver
        secure_port = _free_port()
        self.server = f"https://127.0.0.1:{secure_port}"
        t0 = time.monotonic()
        self._spawn(
            "kube-apiserver",
            [
                str(bins.kube_apiserver),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={secure_port}",
                f"--cert-dir={self.workdir / 'pki'}",
                f"--tls-cert-file={keys.serving_cert}",
                f"--tls-private-key-file={keys.serving_key}",
                f"--client-ca-file={keys.ca_cert}",
                f"--token-auth-file={keys.token_file}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={keys.sa_pub}",
                f"--service-account-signing-key-file={keys.sa_key}",
                f"--service-cluster-ip-range={self.service_cidr}",
                # The apiserver would write 127.0.0.1 into the `kubernetes` Endpoints, which
                # Endpoints validation refuses (loopback); pods cannot reach loopback anyway.
                "--endpoint-reconciler-type=none",
                # Priority and fairness costs CPU for no benefit with a handful of clients.
                "--enable-priority-and-fairness=false",
                "--allow-privileged=true",
                "--profiling=false",
            ],
        )
        self._rest = KubeRest(self.server, keys.admin.token, str(keys.ca_cert))
        rest = self._rest
        self._wait(
            "kube-apiserver",
            lambda: rest.request("GET", "/readyz") is not None,
            timeout,
            "kube-apiserver /readyz",
        )
        self.apiserver_ready_seconds = time.monotonic() - t0
        write_kubeconfig(
            self.kubeconfig_path, self.server, keys.ca_cert, keys.admin.user, keys.admin.token
        )

        # kube-controller-manager
        cm_kubeconfig = self.workdir / "pki" / "controller-manager.kubeconfig"
        write_kubeconfig(
            cm_kubeconfig,
            self.server,
            keys.ca_cert,
            keys.controller_manager.user,
            keys.controller_manager.token,
        )
        self._spawn(
            "kube-controller-manager",
            [
                str(bins.kube_controller_manager),
                f"--kubeconfig={cm_kubeconfig}",
                "--secure-port=0",
                "--leader-elect=false",
                f"--controllers={','.join(CONTROLLERS)}",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={keys.sa_key}",
                f"--root-ca-file={keys.ca_cert}",
                f"--service-cluster-ip-range={self.service_cidr}",
                "--cluster-name=kplane-devstack",
            ],
        )

        # the pod runner
        self.podrunner_dir.mkdir(parents=True, exist_ok=True)
        runner_config = self.podrunner_dir / "config.json"
        runner_config.write_text(
            json.dumps(
                {
                    "server": self.server,
                    "token": keys.podrunner.token,
                    "ca_file": str(keys.ca_cert),
                    "node_name": self.node_name,
                    "workdir": str(self.podrunner_dir),
                    "net_id": self.net_id,
                    "pod_subnet": str(self.pod_subnet),
                    "restart_backoff": self.restart_backoff,
                    "shutdown_grace": self.shutdown_grace,
                },
                indent=2,
            )
        )
        runner_config.chmod(0o600)
        self._spawn(
            "podrunner",
            [sys.executable, "-m", "devstack.podrunner", "--config", str(runner_config)],
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )

        # Ready means: pods can be created (the default ServiceAccount exists, which proves the
        # controller-manager works) and run (the node is Ready).
        self._wait(
            "kube-controller-manager",
            lambda: (
                rest.get_or_none("/api/v1/namespaces/default/serviceaccounts/default") is not None
            ),
            timeout,
            "the default ServiceAccount (controller-manager)",
        )
        self._wait("podrunner", self._node_ready, timeout, f"node {self.node_name} Ready")

    def _node_ready(self) -> bool:
        node = self.rest().get_or_none(f"/api/v1/nodes/{self.node_name}")
        if node is None:
            return False
        conditions = node.get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    # -- stop ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every process this substrate started and remove its network. Idempotent."""
        # The pod runner first: it stops the pods (SIGTERM, grace, SIGKILL) and removes their
        # namespaces; then the controllers, the apiserver, and etcd last.
        grace = {"podrunner": self.shutdown_grace + 15.0}
        for name in reversed(COMPONENTS):
            ref = self._refs.get(name)
            if ref is not None:
                ref.stop(grace=grace.get(name, 10.0))
            proc = self._procs.get(name)
            if proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=1.0)
        # Whatever the runner could not remove (it was killed, or crashed) goes now.
        cleanup(self.net_id)
        if self._rest is not None:
            self._rest.close()
            self._rest = None
        self._procs.clear()
        self._refs.clear()
        self.state_path.unlink(missing_ok=True)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def stop_recorded(workdir: Path, grace: float = 45.0) -> list[int]:
    """Stop the processes a substrate recorded in `workdir/state.json` (for `devstack-down`
    when its owner is gone). Returns the PIDs that were still alive."""
    workdir = workdir.resolve()
    state_path = workdir / "state.json"
    if not state_path.exists():
        return []
    state = json.loads(state_path.read_text())
    stopped = []
    for name in reversed(COMPONENTS):
        value = state.get("pids", {}).get(name)
        if value:
            ref = ProcRef.from_json(value)
            if ref.alive():
                stopped.append(ref.pid)
            ref.stop(grace=grace if name == "podrunner" else 10.0)
    cleanup(net_id_for(workdir))
    state_path.unlink(missing_ok=True)
    return stopped
