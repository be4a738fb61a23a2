"""Helm for kplane's chart (helm/kplane): the binary, built from the Go module proxy and cached
by version, and the chart operations CI and `make` run — lint, render, the reviewed snapshots of
the rendering, and the broker-image default generated from broker/versions.json.

Helm cannot read a file outside the chart at render time, so the broker image tag that
values.yaml defaults to (the Kafka version this commit builds) is *generated*: `sync_values()`
rewrites the one marked line of values.yaml from broker/versions.json, and a test fails when
they disagree.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HELM_VERSION = "3.22.0"
REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = Path(__file__).with_name("build.sh")
CHART_DIR = REPO_ROOT / "helm" / "kplane"
VALUES_FILE = CHART_DIR / "values.yaml"
FULL_VALUES_FILE = CHART_DIR / "ci" / "full-values.yaml"
SNAPSHOT_DIR = CHART_DIR / "snapshots"
VERSIONS_FILE = REPO_ROOT / "broker" / "versions.json"
# Release name and namespace of the snapshots; any fixed pair would do.
SNAPSHOT_RELEASE = "kplane"
SNAPSHOT_NAMESPACE = "kplane"
# The line of values.yaml that `sync_values()` owns.
_BROKER_TAG_LINE = re.compile(r'^(  tag: )"[^"]*"(  # kafka-default-version)$', re.MULTILINE)


@dataclass(frozen=True)
class Rendering:
    """One way CI renders the chart: a name (the snapshot file) and its values files."""

    name: str
    values_files: tuple[Path, ...]

    @property
    def snapshot(self) -> Path:
        return SNAPSHOT_DIR / f"{self.name}.yaml"


RENDERINGS = (Rendering("default", ()), Rendering("full", (FULL_VALUES_FILE,)))


class HelmError(RuntimeError):
    """helm exited non-zero; the message holds the command and its output."""


def cache_root() -> Path:
    return Path(os.environ.get("KPLANE_CACHE", Path.home() / ".cache" / "kplane"))


def helm_path(version: str = HELM_VERSION) -> Path:
    return cache_root() / "helm" / f"v{version}" / "bin" / "helm"


def ensure(version: str = HELM_VERSION) -> Path:
    """The cached helm binary of `version`, built first if missing (minutes the first time,
    a stat() afterwards)."""
    path = helm_path(version)
    if not (path.parent / ".complete").exists():
        env = dict(os.environ, HELM_VERSION=version, KPLANE_CACHE=str(cache_root()))
        result = subprocess.run(["bash", str(BUILD_SCRIPT)], env=env, check=False)
        if result.returncode != 0:
            raise HelmError(
                f"building helm v{version} failed (exit {result.returncode}); see the output "
                f"above, or run {BUILD_SCRIPT} by hand"
            )
    return path


def run(args: Sequence[str], kubeconfig: Path | None = None, timeout: float = 120.0) -> str:
    """Run helm with `args` and return its stdout; HelmError with its output otherwise.

    HELM_* state directories point into a scratch place under the cache so that helm never
    reads or writes the invoking user's own repositories and plugins.
    """
    state = cache_root() / "helm" / "state"
    env = dict(
        os.environ,
        HELM_CACHE_HOME=str(state / "cache"),
        HELM_CONFIG_HOME=str(state / "config"),
        HELM_DATA_HOME=str(state / "data"),
    )
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    command = [str(ensure()), *args]
    proc = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise HelmError(
            f"`helm {' '.join(args)}` exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
        )
    return proc.stdout


def _values_args(values_files: Sequence[Path]) -> list[str]:
    return [arg for path in values_files for arg in ("--values", str(path))]


def lint(values_files: Sequence[Path] = ()) -> str:
    """`helm lint --strict` of the chart with `values_files`; its report."""
    return run(["lint", "--strict", str(CHART_DIR), *_values_args(values_files)])


def template(
    values_files: Sequence[Path] = (),
    namespace: str = SNAPSHOT_NAMESPACE,
    release: str = SNAPSHOT_RELEASE,
) -> str:
    """The chart rendered by `helm template` (hooks included), as YAML text."""
    return run(
        [
            "template",
            release,
            str(CHART_DIR),
            "--namespace",
            namespace,
            *_values_args(values_files),
        ]
    )


def objects(rendered: str) -> list[dict[str, Any]]:
    """The Kubernetes objects of a rendering, in order (empty documents dropped)."""
    docs = [doc for doc in yaml.safe_load_all(rendered) if doc]
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc:
            raise ValueError(f"the rendering holds a document that is not an object: {doc!r}")
    return docs


def broker_default_version() -> str:
    version = json.loads(VERSIONS_FILE.read_text())["default"]
    if not isinstance(version, str):
        raise ValueError(f"{VERSIONS_FILE}: 'default' must be a string, got {version!r}")
    return version


def synced_values_text() -> str:
    """values.yaml with the broker image tag set to broker/versions.json's default."""
    text = VALUES_FILE.read_text()
    new, count = _BROKER_TAG_LINE.subn(rf'\g<1>"{broker_default_version()}"\g<2>', text)
    if count != 1:
        raise ValueError(
            f'{VALUES_FILE}: expected exactly one line `  tag: "..."  # kafka-default-version`'
            f" under brokerImage, found {count}"
        )
    return new


def sync_values() -> bool:
    """Write the broker default into values.yaml; True when the file changed."""
    new = synced_values_text()
    if new == VALUES_FILE.read_text():
        return False
    VALUES_FILE.write_text(new)
    return True


def write_snapshots() -> list[Path]:
    """Render every CI rendering into its snapshot file (what `make helm-snapshot` does)."""
    SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for rendering in RENDERINGS:
        rendering.snapshot.write_text(template(rendering.values_files))
        written.append(rendering.snapshot)
    return written


def snapshot_drift(rendering: Rendering) -> str:
    """A unified diff from the committed snapshot to the current rendering; empty if none."""
    current = template(rendering.values_files)
    committed = rendering.snapshot.read_text() if rendering.snapshot.exists() else ""
    return "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            current.splitlines(keepends=True),
            fromfile=f"{rendering.snapshot.relative_to(REPO_ROOT)} (committed)",
            tofile=f"helm template {rendering.name} (now)",
        )
    )
