"""Apache Kafka distributions for local runs: the supported versions and their cached jars.

broker/versions.json is the single source of truth for which Kafka versions kplane supports and
how they upgrade; this module reads it for everyone else (the API, the workers, devstack). The
jars come from broker/pom.xml — the same pom the image build resolves — laid out as a
KAFKA_HOME (``<cache>/kafka/<version>/libs/*.jar``) outside the tree, so ``broker/entrypoint``
runs locally exactly as it does in the image.

Command line (what ``make kafka-dist`` runs)::

    python -m devstack.kafka_dist ensure [VERSION ...]   # every supported version by default
    python -m devstack.kafka_dist versions               # the supported versions, default first
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BROKER_DIR = REPO_ROOT / "broker"
VERSIONS_FILE = BROKER_DIR / "versions.json"
POM_FILE = BROKER_DIR / "pom.xml"
ENTRYPOINT = BROKER_DIR / "entrypoint"

# Written last into a resolved KAFKA_HOME; names the version it holds.
_MARKER = "kplane-dist.json"


class KafkaDistError(RuntimeError):
    """A Kafka distribution could not be resolved (bad version, Maven failure)."""


@dataclass(frozen=True)
class KafkaVersion:
    """One supported Kafka release, as listed in broker/versions.json."""

    version: str
    metadata_version: str
    upgradable_to: tuple[str, ...]


def _load(path: Path = VERSIONS_FILE) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise KafkaDistError(
            f"cannot read the supported Kafka versions from {path}: {exc}"
        ) from exc
    return data


def versions(path: Path = VERSIONS_FILE) -> list[KafkaVersion]:
    """Every supported version with its metadata.version and upgrade targets, oldest first."""
    entries = _load(path).get("versions", [])
    return [
        KafkaVersion(
            version=str(e["version"]),
            metadata_version=str(e["metadata_version"]),
            upgradable_to=tuple(str(v) for v in e.get("upgradable_to", [])),
        )
        for e in entries
    ]


def supported_versions(path: Path = VERSIONS_FILE) -> list[str]:
    """The supported Kafka version strings, oldest first."""
    return [v.version for v in versions(path)]


def default_version(path: Path = VERSIONS_FILE) -> str:
    """The version new clusters get when the user names none."""
    return str(_load(path)["default"])


def get_version(version: str, path: Path = VERSIONS_FILE) -> KafkaVersion:
    """The entry of one supported version; a clear error for any other."""
    for v in versions(path):
        if v.version == version:
            return v
    supported = ", ".join(supported_versions(path))
    raise KafkaDistError(f"Kafka {version!r} is not supported by kplane (supported: {supported})")


def cache_root() -> Path:
    """Where resolved distributions live: $KPLANE_CACHE/kafka, else ~/.cache/kplane/kafka."""
    base = os.environ.get("KPLANE_CACHE") or str(Path.home() / ".cache" / "kplane")
    return Path(base) / "kafka"


def kafka_home(version: str) -> Path:
    """The KAFKA_HOME path of a version, whether or not it has been resolved yet."""
    return cache_root() / version


def pom_digest() -> str:
    """A digest of broker/pom.xml: a cached KAFKA_HOME resolved from another pom is stale."""
    return hashlib.sha256(POM_FILE.read_bytes()).hexdigest()[:16]


def is_resolved(version: str) -> bool:
    """True when the version's jars are in the cache, complete (the marker is written last) and
    resolved from the current broker/pom.xml."""
    home = kafka_home(version)
    try:
        marker = json.loads((home / _MARKER).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("pom") == pom_digest() and (home / "libs").is_dir()


def ensure(version: str) -> Path:
    """Return the KAFKA_HOME of ``version``, resolving its jars with Maven when missing.

    The jars are resolved into a temporary directory beside the cache entry and renamed into
    place, so a killed run never leaves a half-filled KAFKA_HOME behind, and two concurrent runs
    both end up with the same complete directory.
    """
    get_version(version)
    home = kafka_home(version)
    if is_resolved(version):
        return home
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaDistError("Maven (mvn) is not installed; run `make os-deps`")
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=home.parent))
    try:
        cmd = [
            mvn,
            "-B",
            "-q",
            "-f",
            str(POM_FILE),
            f"-Dkafka.version={version}",
            f"-Dkafka.libs={staging / 'libs'}",
            "package",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise KafkaDistError(
                f"resolving Kafka {version} with Maven failed (exit {proc.returncode}):\n"
                f"{proc.stdout[-4000:]}{proc.stderr[-4000:]}"
            )
        jars = sorted(p.name for p in (staging / "libs").glob("*.jar"))
        if f"kafka_2.13-{version}.jar" not in jars:
            raise KafkaDistError(f"Maven resolved no kafka_2.13-{version}.jar into {staging}")
        staging.chmod(0o755)  # mkdtemp makes it private; the jars are public anyway
        marker = {"version": version, "pom": pom_digest(), "jars": jars}
        (staging / _MARKER).write_text(json.dumps(marker, indent=1))
        if home.exists() and not is_resolved(version):
            # Incomplete or from an older pom: move it aside (a JVM running from it keeps its open
            # jars) and delete it once the new one is in place.
            stale = Path(tempfile.mkdtemp(prefix=f".{version}-stale-", dir=home.parent))
            home.rename(stale / "old")
        try:
            staging.rename(home)
        except OSError:
            # Another run finished first (the target exists and is not empty): use its result.
            if not is_resolved(version):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        for stale_dir in home.parent.glob(f".{version}-stale-*"):
            shutil.rmtree(stale_dir, ignore_errors=True)
    return home


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.kafka_dist", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_ensure = sub.add_parser("ensure", help="resolve versions into the cache (default: all)")
    p_ensure.add_argument("version", nargs="*")
    sub.add_parser("versions", help="print the supported versions, the default first")
    args = parser.parse_args(argv)
    try:
        if args.command == "versions":
            default = default_version()
            print(default, *(v for v in supported_versions() if v != default))
            return 0
        for version in args.version or supported_versions():
            was_cached = is_resolved(version)
            home = ensure(version)
            print(f"Kafka {version}: {home} ({'cached' if was_cached else 'resolved'})")
    except KafkaDistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
