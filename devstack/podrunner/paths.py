"""Names derived from a pod, shared by the pod runner and the substrate (which finds a pod's
processes and logs from them without asking the runner)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any


def _uid_hash(pod_uid: str) -> str:
    return hashlib.sha256(pod_uid.encode()).hexdigest()


def netns_name_for(net_id: str, pod_uid: str) -> str:
    """The pod's network namespace: `kp-<net id>-<12 hex of its uid>`."""
    return f"kp-{net_id}-{_uid_hash(pod_uid)[:12]}"


def host_veth_for(net_id: str, pod_uid: str) -> str:
    """The host end of the pod's veth pair; 15 characters, the kernel's limit."""
    return f"kpv{net_id}{_uid_hash(pod_uid)[:6]}"


def pod_dir_name(metadata: Mapping[str, Any]) -> str:
    """`<namespace>_<name>_<uid>`, as the kubelet names /var/log/pods entries."""
    return f"{metadata['namespace']}_{metadata['name']}_{metadata['uid']}"
