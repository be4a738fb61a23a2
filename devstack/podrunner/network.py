"""The pod network: what a bridge CNI plugin does, with iproute2.

One Linux bridge per substrate holds the gateway address of a private /24; each pod gets its
own network namespace, a veth pair (host end on the bridge, the other end as the pod's eth0)
and an address from that subnet. The pod's processes run inside the namespace (`ip netns
exec`), so every pod can listen on the same port, Endpoints hold real, non-loopback addresses,
and the host reaches each pod through the bridge.

Every name the network creates starts with a prefix derived from the substrate's workdir
(`kpb<id>` bridge, `kp-<id>-...` namespaces, `kpv<id>...` veths), so a later run of the same
workdir can remove what a crashed one left behind, and nothing else is ever touched.

Name resolution: `ip netns exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts for the
pod's processes. The runner writes there the names a cluster DNS would serve for pods with a
hostname and subdomain (StatefulSet pods behind their headless Service), so brokers find their
peers as `<pod>.<service>.<namespace>.svc.cluster.local`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devstack.kube.process import processes_in_netns
from devstack.podrunner.paths import host_veth_for, netns_name_for

NETNS_DIR = Path("/run/netns")
ETC_NETNS_DIR = Path("/etc/netns")
IP = shutil.which("ip") or "/usr/sbin/ip"


class NetworkError(RuntimeError):
    """An iproute2 command failed; the message carries its stderr."""


def net_id_for(workdir: Path) -> str:
    """Six hex digits naming one workdir's network objects (stable across runs)."""
    return hashlib.sha256(str(workdir.resolve()).encode()).hexdigest()[:6]


def _ip(*args: str, batch: str | None = None) -> str:
    proc = subprocess.run(
        [IP, *args], input=batch, capture_output=True, text=True, check=False, timeout=30
    )
    if proc.returncode != 0:
        cmd = " ".join(args) + (f" <<{batch!r}" if batch else "")
        raise NetworkError(f"ip {cmd} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def used_networks() -> list[ipaddress.IPv4Network]:
    """IPv4 networks already routed or assigned on this host."""
    nets: list[ipaddress.IPv4Network] = []
    for route in json.loads(_ip("-j", "-4", "route", "show", "table", "all") or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default":
            with contextlib.suppress(ValueError):
                nets.append(ipaddress.IPv4Network(dst, strict=False))
    for link in json.loads(_ip("-j", "-4", "addr") or "[]"):
        for addr in link.get("addr_info", []):
            with contextlib.suppress(ValueError, KeyError):
                nets.append(
                    ipaddress.IPv4Network(f"{addr['local']}/{addr['prefixlen']}", strict=False)
                )
    return nets


@contextlib.contextmanager
def host_network_lock() -> Iterator[None]:
    """Serializes picking a subnet and creating its bridge across processes, so two substrates
    starting at once never choose the same /24."""
    lock_dir = Path("/run/lock") if Path("/run/lock").is_dir() else Path("/run")
    with open(lock_dir / "kplane-devstack-network.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def claim_subnet(net_id: str, pool: str = "10.244.0.0/16") -> ipaddress.IPv4Network:
    """Pick a free /24 of `pool` and create this network's bridge on it, atomically."""
    with host_network_lock():
        subnet = pick_subnet(pool)
        PodNetwork(net_id, subnet).ensure_bridge()
    return subnet


def pick_subnet(pool: str = "10.244.0.0/16") -> ipaddress.IPv4Network:
    """The first /24 of `pool` that overlaps nothing routed on this host."""
    used = used_networks()
    for candidate in ipaddress.IPv4Network(pool).subnets(new_prefix=24):
        if not any(candidate.overlaps(u) for u in used):
            return candidate
    raise NetworkError(f"no free /24 left in {pool}: every one overlaps a host route")


@dataclass(frozen=True)
class PodNet:
    """One pod's network namespace and address."""

    netns: str
    ip: str
    host_veth: str

    @property
    def netns_file(self) -> Path:
        return NETNS_DIR / self.netns

    @property
    def etc_dir(self) -> Path:
        return ETC_NETNS_DIR / self.netns


class PodNetwork:
    """The bridge and the per-pod namespaces of one substrate."""

    def __init__(self, net_id: str, subnet: ipaddress.IPv4Network) -> None:
        if len(net_id) != 6:
            raise ValueError(f"net_id must be 6 characters, got {net_id!r}")
        if subnet.prefixlen > 28:
            raise ValueError(f"pod subnet {subnet} is too small (need at least a /28)")
        self.net_id = net_id
        self.subnet = subnet
        hosts = list(subnet.hosts())
        self.gateway = str(hosts[0])
        self._pool = [str(h) for h in hosts[1:]]
        self._used: set[str] = set()
        self._next = 0
        self._lock = threading.Lock()

    @property
    def bridge(self) -> str:
        return f"kpb{self.net_id}"

    @property
    def netns_prefix(self) -> str:
        return f"kp-{self.net_id}-"

    @property
    def veth_prefix(self) -> str:
        return f"kpv{self.net_id}"

    def ensure_bridge(self) -> None:
        if Path(f"/sys/class/net/{self.bridge}").exists():
            return
        _ip(
            "-b",
            "-",
            batch=(
                f"link add {self.bridge} type bridge\n"
                f"addr add {self.gateway}/{self.subnet.prefixlen} dev {self.bridge}\n"
                f"link set {self.bridge} up\n"
            ),
        )

    def _allocate(self) -> str:
        # Round-robin like host-local IPAM: a just-freed address is not handed out again at
        # once, so stale ARP entries and connections do not reach the wrong pod.
        with self._lock:
            for _ in range(len(self._pool)):
                candidate = self._pool[self._next % len(self._pool)]
                self._next += 1
                if candidate not in self._used:
                    self._used.add(candidate)
                    return candidate
        raise NetworkError(f"pod subnet {self.subnet} is exhausted")

    def _release(self, ip: str) -> None:
        with self._lock:
            self._used.discard(ip)

    def create(self, pod_uid: str) -> PodNet:
        """Create the namespace, veth pair and address for one pod (idempotent per uid)."""
        pod = PodNet(netns_name_for(self.net_id, pod_uid), "", host_veth_for(self.net_id, pod_uid))
        # A half-made namespace from an interrupted attempt is removed, then made again.
        _delete_objects(pod)
        ip = self._allocate()
        pod = PodNet(pod.netns, ip, pod.host_veth)
        try:
            _ip("netns", "add", pod.netns)
            _ip(
                "-b",
                "-",
                batch=(
                    f"link add {pod.host_veth} type veth peer name eth0 netns {pod.netns}\n"
                    f"link set {pod.host_veth} master {self.bridge} up\n"
                ),
            )
            _ip(
                "-n",
                pod.netns,
                "-b",
                "-",
                batch=(
                    "link set lo up\n"
                    f"addr add {ip}/{self.subnet.prefixlen} dev eth0\n"
                    "link set eth0 up\n"
                    f"route add default via {self.gateway}\n"
                ),
            )
        except Exception:
            _delete_objects(pod)
            self._release(ip)
            raise
        return pod

    def write_etc(self, pod: PodNet, hosts: str, resolv: str) -> None:
        """Write the pod's /etc/hosts and /etc/resolv.conf (seen through `ip netns exec`).

        Written in place, never replaced: running processes see the file through a bind mount
        of its inode, so a rename would hide later updates from them.
        """
        pod.etc_dir.mkdir(parents=True, exist_ok=True)
        for name, content in (("hosts", hosts), ("resolv.conf", resolv)):
            path = pod.etc_dir / name
            if path.exists() and path.read_text() == content:
                continue
            with open(path, "w") as handle:
                handle.write(content)

    def delete(self, pod: PodNet) -> None:
        """Kill whatever still runs in the namespace, then remove it and its address."""
        _delete_objects(pod)
        if pod.ip:
            self._release(pod.ip)

    def cleanup_all(self) -> list[str]:
        """Remove every namespace, veth and the bridge of this network (see `cleanup`)."""
        with self._lock:
            self._used.clear()
        return cleanup(self.net_id)

    def cleanup_pods(self) -> list[str]:
        """Remove the pod namespaces and veths of this network, keeping the bridge."""
        with self._lock:
            self._used.clear()
        return cleanup(self.net_id, keep_bridge=True)


def _delete_objects(pod: PodNet) -> None:
    for proc in processes_in_netns(pod.netns_file):
        proc.signal(signal.SIGKILL)
    for proc in processes_in_netns(pod.netns_file):
        proc.wait_gone(10.0)
    if pod.netns_file.exists():
        # Deleting the namespace destroys its eth0 and so the veth pair with it.
        _ip("netns", "delete", pod.netns)
    if pod.host_veth and Path(f"/sys/class/net/{pod.host_veth}").exists():
        with contextlib.suppress(NetworkError):
            _ip("link", "delete", pod.host_veth)
    shutil.rmtree(pod.etc_dir, ignore_errors=True)


def cleanup(net_id: str, keep_bridge: bool = False) -> list[str]:
    """Remove every namespace (killing what runs in it), veth and the bridge named with
    `net_id`. Returns what was removed; safe when none exist. Objects with other names,
    whoever made them, are never touched."""
    removed = []
    netns_prefix = f"kp-{net_id}-"
    names = sorted(os.listdir(NETNS_DIR)) if NETNS_DIR.exists() else []
    for name in names:
        if name.startswith(netns_prefix):
            _delete_objects(PodNet(name, "", ""))
            removed.append(name)
    if ETC_NETNS_DIR.exists():
        for name in os.listdir(ETC_NETNS_DIR):
            if name.startswith(netns_prefix):
                shutil.rmtree(ETC_NETNS_DIR / name, ignore_errors=True)
    for name in sorted(os.listdir("/sys/class/net")):
        if name.startswith(f"kpv{net_id}") or (name == f"kpb{net_id}" and not keep_bridge):
            with contextlib.suppress(NetworkError):
                _ip("link", "delete", name)
            removed.append(name)
    return removed


def leftovers(net_id: str) -> list[str]:
    """Names of network objects with this net_id that still exist (for teardown checks)."""
    found = []
    if NETNS_DIR.exists():
        found += [n for n in os.listdir(NETNS_DIR) if n.startswith(f"kp-{net_id}-")]
    found += [
        n
        for n in os.listdir("/sys/class/net")
        if n.startswith(f"kpv{net_id}") or n == f"kpb{net_id}"
    ]
    return found
