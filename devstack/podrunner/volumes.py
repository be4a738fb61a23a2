"""A pod's volumes as host directories.

emptyDir, configMap, secret, downwardAPI and projected volumes (including the service-account
token the ServiceAccount admission plugin injects into every pod, obtained through the
TokenRequest API) live under the pod's directory and go away with the pod; ConfigMap, Secret
and token contents are refreshed while the pod runs, as the kubelet does. persistentVolumeClaim
volumes resolve through the bound PersistentVolume to its directory, which outlives the pod.
hostPath is the host path itself. Any other volume type is refused with a clear message.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devstack.kube.rest import KubeApiError, KubeRest
from devstack.podrunner.env import EnvError, field_ref, resource_value

JsonDict = dict[str, Any]


class VolumeError(Exception):
    """A volume cannot be provided (unsupported type, missing object): the containers wait."""


class VolumePending(VolumeError):
    """A volume is not available yet (PVC not bound): retry later."""


def _write_file(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_bytes() == data:
        if (path.stat().st_mode & 0o777) != mode:
            path.chmod(mode)
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    tmp.replace(path)  # readers see the old or the new content, never half of it


class PodVolumes:
    """Materializes the volumes of one pod under `pod_dir/volumes`."""

    def __init__(
        self, pod: JsonDict, pod_dir: Path, rest: KubeRest, allocatable: Mapping[str, str]
    ) -> None:
        self.pod = pod
        self.namespace = pod["metadata"]["namespace"]
        self.root = pod_dir / "volumes"
        self.rest = rest
        self.allocatable = allocatable
        self.paths: dict[str, Path] = {}

    def _get(self, kind: str, name: str) -> JsonDict | None:
        return self.rest.get_or_none(f"/api/v1/namespaces/{self.namespace}/{kind}/{name}")

    def materialize(self) -> dict[str, Path]:
        """Create or refresh every volume; returns volume name -> host directory."""
        for volume in self.pod["spec"].get("volumes", []):
            self.paths[volume["name"]] = self._one(volume)
        return self.paths

    def refresh(self) -> None:
        """Re-read ConfigMaps, Secrets and tokens into the volumes that project them."""
        for volume in self.pod["spec"].get("volumes", []):
            if any(k in volume for k in ("configMap", "secret", "projected", "downwardAPI")):
                # On failure the last content stays, as with the kubelet.
                with contextlib.suppress(VolumeError):
                    self._one(volume)

    def _one(self, volume: JsonDict) -> Path:
        name: str = volume["name"]
        path: Path
        if "emptyDir" in volume:
            path = self.root / "empty-dir" / name
            path.mkdir(parents=True, exist_ok=True)
            return path
        if "hostPath" in volume:
            path = Path(volume["hostPath"]["path"])
            kind = volume["hostPath"].get("type", "")
            if kind == "DirectoryOrCreate":
                path.mkdir(parents=True, exist_ok=True)
            elif kind == "FileOrCreate":
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch(exist_ok=True)
            elif kind and not path.exists():  # "" means: no check, as in Kubernetes
                raise VolumeError(f"volume {name!r}: hostPath {path} does not exist")
            return path
        if "persistentVolumeClaim" in volume:
            return self._pvc(name, volume["persistentVolumeClaim"]["claimName"])
        if "configMap" in volume:
            path = self.root / "configmap" / name
            self._project_object(path, "configmaps", volume["configMap"], volume["configMap"])
            return path
        if "secret" in volume:
            path = self.root / "secret" / name
            source = dict(volume["secret"], name=volume["secret"]["secretName"])
            self._project_object(path, "secrets", source, source)
            return path
        if "downwardAPI" in volume:
            path = self.root / "downward-api" / name
            self._downward(path, volume["downwardAPI"], volume["downwardAPI"])
            return path
        if "projected" in volume:
            path = self.root / "projected" / name
            self._projected(path, volume["projected"])
            return path
        kinds = sorted(k for k in volume if k != "name")
        raise VolumeError(
            f"volume {name!r}: type {', '.join(kinds)} is not supported by the devstack pod runner "
            "(it supports emptyDir, configMap, secret, downwardAPI, projected, "
            "persistentVolumeClaim, hostPath)"
        )

    def _pvc(self, volume_name: str, claim: str) -> Path:
        pvc = self._get("persistentvolumeclaims", claim)
        if pvc is None:
            raise VolumePending(
                f"volume {volume_name!r}: persistentvolumeclaim {claim!r} not found"
            )
        if pvc.get("metadata", {}).get("deletionTimestamp"):
            raise VolumeError(
                f"volume {volume_name!r}: persistentvolumeclaim {claim!r} is being deleted"
            )
        if pvc.get("status", {}).get("phase") != "Bound" or not pvc["spec"].get("volumeName"):
            raise VolumePending(
                f"volume {volume_name!r}: persistentvolumeclaim {claim!r} is not bound yet"
            )
        pv = self.rest.get_or_none(f"/api/v1/persistentvolumes/{pvc['spec']['volumeName']}")
        if pv is None:
            raise VolumePending(f"volume {volume_name!r}: its PersistentVolume is gone")
        source = pv["spec"].get("hostPath") or pv["spec"].get("local")
        if not source:
            raise VolumeError(
                f"volume {volume_name!r}: PersistentVolume {pv['metadata']['name']} is neither "
                "hostPath nor local; the devstack can only mount directories"
            )
        path = Path(source["path"])
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _items(
        self, data: Mapping[str, bytes], source: JsonDict, what: str
    ) -> list[tuple[str, bytes, int | None]]:
        items = source.get("items")
        if not items:
            return [(key, value, None) for key, value in data.items()]
        chosen: list[tuple[str, bytes, int | None]] = []
        for item in items:
            if item["key"] not in data:
                if source.get("optional"):
                    continue
                raise VolumeError(f"key {item['key']!r} not found in {what}")
            chosen.append((item["path"], data[item["key"]], item.get("mode")))
        return chosen

    def _object_data(self, kind: str, name: str, optional: bool) -> dict[str, bytes] | None:
        try:
            obj = self._get(kind, name)
        except KubeApiError as exc:
            raise VolumePending(f"{kind[:-1]} {name!r}: {exc}") from exc
        if obj is None:
            if optional:
                return None
            raise VolumeError(f"{kind[:-1]} {name!r} not found")
        if kind == "secrets":
            return {k: base64.b64decode(v) for k, v in obj.get("data", {}).items()}
        data = {k: v.encode() for k, v in obj.get("data", {}).items()}
        data.update({k: base64.b64decode(v) for k, v in obj.get("binaryData", {}).items()})
        return data

    def _project_object(self, path: Path, kind: str, ref: JsonDict, modes: JsonDict) -> None:
        data = self._object_data(kind, ref["name"], bool(ref.get("optional")))
        path.mkdir(parents=True, exist_ok=True)
        if data is None:
            return
        default_mode = int(modes.get("defaultMode", 0o644))
        for rel, content, mode in self._items(data, ref, f"{kind[:-1]} {ref['name']!r}"):
            _write_file(path / rel, content, mode if mode is not None else default_mode)

    def _downward(self, path: Path, source: JsonDict, modes: JsonDict) -> None:
        path.mkdir(parents=True, exist_ok=True)
        default_mode = int(modes.get("defaultMode", 0o644))
        for item in source.get("items", []):
            try:
                if "fieldRef" in item:
                    field_path = item["fieldRef"]["fieldPath"]
                    if field_path in ("metadata.labels", "metadata.annotations"):
                        values = self.pod["metadata"].get(field_path.split(".")[1], {})
                        value = "\n".join(f'{k}="{v}"' for k, v in sorted(values.items()))
                    else:
                        value = field_ref(self.pod, field_path)
                elif "resourceFieldRef" in item:
                    ref = item["resourceFieldRef"]
                    containers = [
                        c
                        for c in self.pod["spec"]["containers"]
                        if c["name"] == ref.get("containerName")
                    ]
                    if not containers:
                        raise VolumeError(f"downwardAPI item {item['path']!r}: unknown container")
                    value = resource_value(
                        containers[0], ref["resource"], ref.get("divisor"), self.allocatable
                    )
                else:
                    raise VolumeError(f"downwardAPI item {item['path']!r}: unsupported source")
            except EnvError as exc:
                raise VolumeError(str(exc)) from exc
            mode = item.get("mode")
            _write_file(
                path / item["path"], value.encode(), mode if mode is not None else default_mode
            )

    def _projected(self, path: Path, projected: JsonDict) -> None:
        path.mkdir(parents=True, exist_ok=True)
        for source in projected.get("sources", []):
            if "configMap" in source:
                self._project_object(path, "configmaps", source["configMap"], projected)
            elif "secret" in source:
                self._project_object(path, "secrets", source["secret"], projected)
            elif "downwardAPI" in source:
                self._downward(path, source["downwardAPI"], projected)
            elif "serviceAccountToken" in source:
                self._token(path, source["serviceAccountToken"], projected)
            else:
                kinds = sorted(source)
                raise VolumeError(f"projected source {', '.join(kinds)} is not supported")

    def _token(self, path: Path, source: JsonDict, projected: JsonDict) -> None:
        meta, spec = self.pod["metadata"], self.pod["spec"]
        body: JsonDict = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {
                "expirationSeconds": int(source.get("expirationSeconds", 3607)),
                "boundObjectRef": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "name": meta["name"],
                    "uid": meta["uid"],
                },
            },
        }
        if source.get("audience"):
            body["spec"]["audiences"] = [source["audience"]]
        account = spec.get("serviceAccountName") or "default"
        try:
            answer = self.rest.create(
                f"/api/v1/namespaces/{self.namespace}/serviceaccounts/{account}/token", body
            )
        except KubeApiError as exc:
            raise VolumePending(f"service account token for {account!r}: {exc}") from exc
        mode = int(projected.get("defaultMode", 0o644))
        _write_file(path / source["path"], answer["status"]["token"].encode(), mode)

    def mounts_for(self, container: JsonDict) -> dict[str, str]:
        """mountPath -> host path for one container (subPath directories created)."""
        mounts: dict[str, str] = {}
        for mount in container.get("volumeMounts", []):
            base = self.paths.get(mount["name"])
            if base is None:
                raise VolumeError(f"volumeMount {mount['name']!r}: no such volume in the pod")
            target = base
            sub = mount.get("subPath") or mount.get("subPathExpr")
            if sub:
                if os.path.isabs(sub) or ".." in Path(sub).parts:
                    raise VolumeError(f"volumeMount {mount['name']!r}: invalid subPath {sub!r}")
                target = base / sub
                if not target.exists():
                    target.mkdir(parents=True, exist_ok=True)
            mounts[mount["mountPath"]] = str(target)
        return mounts

    def cleanup(self) -> None:
        """Remove the pod-lifetime volumes (never a PersistentVolume's directory)."""
        shutil.rmtree(self.root, ignore_errors=True)
