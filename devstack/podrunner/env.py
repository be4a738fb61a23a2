"""A container's environment and command line, as the kubelet computes them.

- env and envFrom, including ConfigMap/Secret references and the downward API (fieldRef:
  metadata.name/namespace/uid/labels/annotations, spec.nodeName, spec.serviceAccountName,
  status.podIP(s), status.hostIP(s); resourceFieldRef: limits/requests of cpu, memory and
  ephemeral-storage with divisors, limits defaulting to the node's allocatable);
- `$(VAR)` expansion in command, args and env values (`$$` escapes), in Kubernetes' rules;
- the *path mapping* that stands in for mounts: containers run on the host's filesystem, so a
  container path (a volume's mountPath, or a path inside the emulated image) is rewritten to its
  host directory wherever it appears as a path in command, args, env values, workingDir and exec
  probes. `/var/lib/kafka` in `KPLANE_DATA_DIR=/var/lib/kafka/data` becomes the PVC's directory;
  `/var/lib/kafkaesque` is left alone.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

JsonDict = dict[str, Any]

_SUFFIXES = {
    "Ki": Decimal(1024),
    "Mi": Decimal(1024**2),
    "Gi": Decimal(1024**3),
    "Ti": Decimal(1024**4),
    "Pi": Decimal(1024**5),
    "Ei": Decimal(1024**6),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(1000),
    "M": Decimal(1000**2),
    "G": Decimal(1000**3),
    "T": Decimal(1000**4),
    "P": Decimal(1000**5),
    "E": Decimal(1000**6),
}
_QUANTITY = re.compile(
    r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$"
)


def parse_quantity(value: str | int | float) -> Decimal:
    """A Kubernetes resource quantity ("512Mi", "0.5", "250m", "1e3") as a Decimal."""
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _QUANTITY.match(value.strip())
    if match is None:
        raise ValueError(f"invalid quantity {value!r}")
    return Decimal(match[1]) * _SUFFIXES[match[2] or ""]


class EnvError(Exception):
    """A reference the container needs cannot be resolved (CreateContainerConfigError)."""


_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: known names are replaced, unknown ones kept verbatim,
    `$$` is a literal `$`."""

    def replace(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        name = match[1]
        return env[name] if name in env else match[0]

    return _VAR_REF.sub(replace, value)


def field_ref(pod: JsonDict, path: str) -> str:
    meta, spec, status = pod["metadata"], pod["spec"], pod.get("status", {})
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.podIP": status.get("podIP", ""),
        "status.podIPs": ",".join(i["ip"] for i in status.get("podIPs", [])),
        "status.hostIP": status.get("hostIP", ""),
        "status.hostIPs": ",".join(i["ip"] for i in status.get("hostIPs", [])),
    }
    if path in simple:
        return str(simple[path])
    match = re.match(r"^metadata\.(labels|annotations)\['(.+)'\]$", path)
    if match:
        return str(meta.get(match[1], {}).get(match[2], ""))
    raise EnvError(f"unsupported fieldRef {path!r}")


def resource_value(
    container: JsonDict, resource: str, divisor: str | None, allocatable: Mapping[str, str]
) -> str:
    """resourceFieldRef: `limits.memory` etc., rounded up to the divisor like the kubelet."""
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or name not in ("cpu", "memory", "ephemeral-storage"):
        raise EnvError(f"unsupported resourceFieldRef {resource!r}")
    resources = container.get("resources", {})
    raw = resources.get(kind, {}).get(name)
    if raw is None and kind == "requests":
        raw = resources.get("limits", {}).get(name)  # requests default to limits
    if raw is None:
        # A missing limit is the node's allocatable; a missing request is zero.
        raw = allocatable.get(name, "0") if kind == "limits" else "0"
    quantity = parse_quantity(raw)
    unit = parse_quantity(divisor or "1")
    if unit == 0:
        unit = Decimal(1)  # the apiserver defaults an unset divisor to "0", meaning 1
    if unit < 0:
        raise EnvError(f"resourceFieldRef {resource!r}: divisor must be positive")
    return str(math.ceil(quantity / unit))


def build_env(
    pod: JsonDict,
    container: JsonDict,
    image_env: Mapping[str, str],
    lookup: Callable[[str, str], JsonDict | None],
    allocatable: Mapping[str, str],
) -> dict[str, str]:
    """The container's environment. `lookup(kind, name)` fetches a ConfigMap or Secret of the
    pod's namespace (kind "configmaps"/"secrets") or returns None when it does not exist."""
    env = dict(image_env)

    def data_of(kind: str, name: str, optional: bool) -> dict[str, str] | None:
        obj = lookup(kind, name)
        if obj is None:
            if optional:
                return None
            raise EnvError(f"{kind[:-1]} {name!r} not found")
        if kind == "secrets":
            return {k: base64.b64decode(v).decode() for k, v in obj.get("data", {}).items()}
        return {**obj.get("data", {}), **obj.get("binaryData", {})}

    for source in container.get("envFrom", []):
        prefix = source.get("prefix", "")
        for key, kind in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
            ref = source.get(key)
            if ref:
                data = data_of(kind, ref["name"], bool(ref.get("optional")))
                for k, v in (data or {}).items():
                    env[prefix + k] = v

    for item in container.get("env", []):
        name = item["name"]
        if "valueFrom" not in item:
            env[name] = expand(item.get("value", ""), env)
            continue
        source = item["valueFrom"]
        if "fieldRef" in source:
            env[name] = field_ref(pod, source["fieldRef"]["fieldPath"])
        elif "resourceFieldRef" in source:
            ref = source["resourceFieldRef"]
            target = container
            if ref.get("containerName"):
                matches = [
                    c for c in pod["spec"]["containers"] if c["name"] == ref["containerName"]
                ]
                if not matches:
                    raise EnvError(
                        f"resourceFieldRef names unknown container {ref['containerName']!r}"
                    )
                target = matches[0]
            env[name] = resource_value(target, ref["resource"], ref.get("divisor"), allocatable)
        else:
            for key, kind in (("configMapKeyRef", "configmaps"), ("secretKeyRef", "secrets")):
                if key in source:
                    ref = source[key]
                    optional = bool(ref.get("optional"))
                    data = data_of(kind, ref["name"], optional)
                    if data is None:
                        break
                    if ref["key"] not in data:
                        if optional:
                            break
                        raise EnvError(
                            f"key {ref['key']!r} not found in {kind[:-1]} {ref['name']!r}"
                        )
                    env[name] = data[ref["key"]]
                    break
            else:
                raise EnvError(f"env {name!r}: unsupported valueFrom {sorted(source)}")
    return env


def command_line(
    container: JsonDict, entrypoint: list[str], cmd: list[str], env: Mapping[str, str]
) -> list[str]:
    """Kubernetes' rule: `command` replaces ENTRYPOINT (and drops CMD), `args` replaces CMD."""
    command = container.get("command")
    args = container.get("args")
    if command:
        argv = list(command) + list(args or [])
    else:
        argv = list(entrypoint) + list(args if args is not None else cmd)
    argv = [expand(a, env) for a in argv]
    if not argv:
        raise EnvError("the container has no command and its image no entrypoint")
    return argv


class PathMap:
    """Container paths -> host paths, longest first, rewritten only at path boundaries."""

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self.mapping = {k.rstrip("/") or "/": v for k, v in mapping.items()}
        ordered = sorted(self.mapping, key=len, reverse=True)
        if not ordered:
            self._pattern: re.Pattern[str] | None = None
            return
        alternatives = "|".join(re.escape(p) for p in ordered if p != "/")
        # Not preceded by a path character, not followed by a name character: "/data" matches
        # in "/data", "/data/x", "a=/data,b"; not in "/database" or "/x/data".
        self._pattern = (
            re.compile(rf"(?<![\w./-])({alternatives})(?![\w.-])") if alternatives else None
        )

    def rewrite(self, value: str) -> str:
        if self._pattern is None:
            return value
        return self._pattern.sub(lambda m: self.mapping[m[1]], value)

    def rewrite_all(self, values: list[str]) -> list[str]:
        return [self.rewrite(v) for v in values]
