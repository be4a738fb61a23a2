"""Persistent volumes for the devstack: a dynamic provisioner of local directories.

The runner installs a default StorageClass, `kplane-local`, and acts as its external
provisioner, the way a CSI driver's external-provisioner does: for every pending claim of that
class it creates a PersistentVolume (hostPath, a directory under the workdir) pre-bound to the
claim, and kube-controller-manager's binder completes the binding. The directory survives pod
deletion and restarts, like a real volume; when a claim is deleted the binder releases the
volume and the provisioner deletes directory and volume (reclaim policy Delete). When a claim's
requested size grows (the class allows expansion) it plays the external resizer: the volume's
capacity and then the claim's status.capacity follow the request. Sizes are recorded, not
enforced: a directory has no quota.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from devstack.kube.rest import KubeApiError, KubeRest
from devstack.podrunner.env import parse_quantity

JsonDict = dict[str, Any]
log = logging.getLogger("devstack.podrunner.storage")

STORAGE_CLASS = "kplane-local"
PROVISIONER = "kplane.devstack/local-dir"
_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"


class LocalProvisioner:
    def __init__(self, rest: KubeRest, volumes_dir: Path) -> None:
        self.rest = rest
        self.volumes_dir = volumes_dir
        self._classes: dict[str, JsonDict] = {}

    def ensure_class(self) -> None:
        body = {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": STORAGE_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
            "allowVolumeExpansion": True,
        }
        try:
            self.rest.create("/apis/storage.k8s.io/v1/storageclasses", body)
        except KubeApiError as exc:
            if exc.status != 409:
                raise

    def _class(self, name: str) -> JsonDict | None:
        if name not in self._classes:
            found = self.rest.get_or_none(f"/apis/storage.k8s.io/v1/storageclasses/{name}")
            if found is None:
                return None
            self._classes[name] = found
        return self._classes[name]

    def _ours(self, pvc: JsonDict) -> JsonDict | None:
        name = pvc["spec"].get("storageClassName")
        if not name:
            return None
        storage_class = self._class(name)
        if storage_class is None or storage_class.get("provisioner") != PROVISIONER:
            return None
        return storage_class

    def on_pvc(self, kind: str, pvc: JsonDict) -> None:
        if kind == "DELETED" or pvc["metadata"].get("deletionTimestamp"):
            return
        storage_class = self._ours(pvc)
        if storage_class is None:
            return
        phase = pvc.get("status", {}).get("phase")
        if phase == "Pending" and not pvc["spec"].get("volumeName"):
            self._provision(pvc, storage_class)
        elif phase == "Bound":
            self._expand(pvc)

    def _provision(self, pvc: JsonDict, storage_class: JsonDict) -> None:
        meta, spec = pvc["metadata"], pvc["spec"]
        if spec.get("volumeMode", "Filesystem") != "Filesystem":
            log.warning("claim %s/%s: only Filesystem volumes", meta["namespace"], meta["name"])
            return
        name = f"pvc-{meta['uid']}"
        path = self.volumes_dir / name
        path.mkdir(parents=True, exist_ok=True)
        size = spec.get("resources", {}).get("requests", {}).get("storage", "1Gi")
        body = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {_PROVISIONED_BY: PROVISIONER}},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy", "Delete"),
                "storageClassName": storage_class["metadata"]["name"],
                "volumeMode": "Filesystem",
                "hostPath": {"path": str(path), "type": "DirectoryOrCreate"},
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "namespace": meta["namespace"],
                    "name": meta["name"],
                    "uid": meta["uid"],
                },
            },
        }
        try:
            self.rest.create("/api/v1/persistentvolumes", body)
            log.info("provisioned %s for %s/%s (%s)", name, meta["namespace"], meta["name"], size)
        except KubeApiError as exc:
            if exc.status != 409:
                raise

    def _expand(self, pvc: JsonDict) -> None:
        requested = pvc["spec"].get("resources", {}).get("requests", {}).get("storage")
        capacity = pvc.get("status", {}).get("capacity", {}).get("storage")
        if not requested or not capacity:
            return
        if parse_quantity(requested) <= parse_quantity(capacity):
            return
        pv_name = pvc["spec"]["volumeName"]
        pv = self.rest.get_or_none(f"/api/v1/persistentvolumes/{pv_name}")
        if pv is None or pv["metadata"].get("annotations", {}).get(_PROVISIONED_BY) != PROVISIONER:
            return
        # The volume first, then the claim: the order an external resizer follows, so a failure
        # in between is retried on the next event.
        self.rest.patch(
            f"/api/v1/persistentvolumes/{pv_name}", {"spec": {"capacity": {"storage": requested}}}
        )
        meta = pvc["metadata"]
        self.rest.patch(
            f"/api/v1/namespaces/{meta['namespace']}/persistentvolumeclaims/{meta['name']}/status",
            {
                "status": {
                    "capacity": {"storage": requested},
                    "allocatedResources": {"storage": requested},
                    "conditions": None,
                }
            },
        )
        log.info("expanded %s/%s to %s", meta["namespace"], meta["name"], requested)

    def on_pv(self, kind: str, pv: JsonDict) -> None:
        if kind == "DELETED":
            return
        meta, spec = pv["metadata"], pv["spec"]
        if meta.get("annotations", {}).get(_PROVISIONED_BY) != PROVISIONER:
            return
        released = pv.get("status", {}).get("phase") in ("Released", "Failed")
        if not released or spec.get("persistentVolumeReclaimPolicy") != "Delete":
            return
        if meta.get("deletionTimestamp"):
            return
        path = Path(spec.get("hostPath", {}).get("path", ""))
        if path.parent == self.volumes_dir:  # never delete a directory we did not create
            shutil.rmtree(path, ignore_errors=True)
        try:
            self.rest.delete(f"/api/v1/persistentvolumes/{meta['name']}")
            log.info("deleted released volume %s", meta["name"])
        except KubeApiError as exc:
            if exc.status != 404:
                raise
