"""Reaching a cluster's brokers: the one small resolver.

Inside the Kubernetes cluster a worker uses the bootstrap Service's DNS name. Outside it
(devstack, a laptop) Service names do not resolve and ClusterIPs do not route, so the worker
uses the Service's endpoint addresses — the ready brokers' pod IPs — which do.
"""

from __future__ import annotations

import threading
import uuid

from workers.adapters import kafka_admin
from workers.adapters.kube import Kube
from workers.builders import names
from workers.config import WorkerSettings
from workers.outcome import TransientError

_last: dict[uuid.UUID, str] = {}
_lock = threading.Lock()


def bootstrap_servers(kube: Kube, settings: WorkerSettings, cluster_uid: uuid.UUID) -> str:
    namespace = names.namespace_of(cluster_uid)
    if settings.broker_address == "dns":
        found = (
            f"{names.BOOTSTRAP_SVC}.{namespace}.svc.{settings.cluster_domain}:{names.CLIENT_PORT}"
        )
    else:
        endpoints = kube.get("Endpoints", names.BOOTSTRAP_SVC, namespace)
        addresses = sorted(
            f"{a['ip']}:{p['port']}"
            for s in (endpoints or {}).get("subsets") or []
            for a in s.get("addresses") or []
            for p in s.get("ports") or []
            if p.get("port") == names.CLIENT_PORT
        )
        if not addresses:
            raise TransientError(f"no ready endpoint of {namespace}/{names.BOOTSTRAP_SVC} yet")
        found = ",".join(addresses)
    with _lock:
        previous = _last.get(cluster_uid)
        _last[cluster_uid] = found
    if previous is not None and previous != found:
        kafka_admin.forget(previous)
    return found


def forget(cluster_uid: uuid.UUID) -> None:
    """Drop the cached Admin client of a cluster (its brokers moved, or it is gone)."""
    with _lock:
        previous = _last.pop(cluster_uid, None)
    if previous is not None:
        kafka_admin.forget(previous)
