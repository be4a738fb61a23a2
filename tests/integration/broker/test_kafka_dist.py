"""The Kafka distribution cache and broker/versions.json, checked against the real jars."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from devstack import kafka_dist
from devstack.kafka import ensure_cds_archive


def test_versions_file_is_consistent() -> None:
    versions = kafka_dist.versions()
    names = [v.version for v in versions]
    assert len(names) >= 2, "the newest 4.x and its predecessor, at least"
    assert len(set(names)) == len(names)
    assert kafka_dist.default_version() in names
    assert names == sorted(names, key=lambda v: tuple(int(p) for p in v.split(".")))
    for v in versions:
        for target in v.upgradable_to:
            assert target in names, f"{v.version} upgrades to unknown {target}"
            assert names.index(target) > names.index(v.version), "upgrades only go forward"
    # Every version but the newest has an upgrade path.
    assert all(v.upgradable_to for v in versions[:-1])


def test_unsupported_version_is_a_clear_error() -> None:
    with pytest.raises(kafka_dist.KafkaDistError, match=r"'3\.0\.0' is not supported"):
        kafka_dist.ensure("3.0.0")


def test_ensure_reuses_the_cache(kafka_home: Path) -> None:
    version = kafka_dist.default_version()
    marker = kafka_home / "kplane-dist.json"
    stamp = marker.stat().st_mtime_ns
    started = time.monotonic()
    assert kafka_dist.ensure(version) == kafka_home
    assert time.monotonic() - started < 1.0, "a cached version must not run Maven"
    assert marker.stat().st_mtime_ns == stamp
    libs = {p.name for p in (kafka_home / "libs").glob("*.jar")}
    assert f"kafka_2.13-{version}.jar" in libs
    assert any(name.startswith("log4j-slf4j") for name in libs), "no logging backend"
    assert f"kafka-tools-{version}.jar" in libs, "no operator tools (FeatureCommand)"
    assert not any(name.startswith("connect-") for name in libs), "Kafka Connect is not needed"
    assert (kafka_home / "kplane-dist.json").is_file()


@pytest.mark.parametrize("version", kafka_dist.supported_versions())
def test_metadata_version_matches_the_jars(version: str) -> None:
    """versions.json's metadata_version is what that release's storage tool formats with."""
    home = kafka_dist.ensure(version)
    proc = subprocess.run(
        [
            "java",
            "-Xmx128m",
            "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={kafka_dist.BROKER_DIR / 'log4j2.xml'}",
            "-cp",
            f"{home}/libs/*",
            "kafka.tools.StorageTool",
            "version-mapping",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    expected = kafka_dist.get_version(version).metadata_version
    assert f"({expected})" in proc.stdout, proc.stdout


def test_a_half_written_or_stale_cache_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KAFKA_HOME without the completion marker (a killed run) or from an older pom is
    resolved again, atomically; Maven's own repository keeps this quick."""
    monkeypatch.setenv("KPLANE_CACHE", str(tmp_path))
    version = kafka_dist.default_version()
    half = tmp_path / "kafka" / version / "libs"
    half.mkdir(parents=True)
    (half / "truncated.jar").write_bytes(b"PK")
    assert not kafka_dist.is_resolved(version)
    home = kafka_dist.ensure(version)
    assert home == tmp_path / "kafka" / version
    assert kafka_dist.is_resolved(version)
    jars = {p.name for p in (home / "libs").glob("*.jar")}
    assert "truncated.jar" not in jars
    assert f"kafka_2.13-{version}.jar" in jars
    # Only the finished directory remains: no staging or stale copies beside it.
    assert sorted(p.name for p in home.parent.iterdir()) == [version]


def test_cds_archive_is_trained_once_and_maps(kafka_home: Path) -> None:
    """The class-data-sharing archive devstack trains is one this JVM really maps: -Xshare:on
    makes the JVM fail instead of silently running without it."""
    version = kafka_dist.default_version()
    archive = ensure_cds_archive(version)
    assert archive.parent == kafka_home
    assert ensure_cds_archive(version) == archive  # cached: no second training run
    proc = subprocess.run(
        [
            "java",
            "-Xshare:on",
            f"-XX:SharedArchiveFile={archive}",
            "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={kafka_dist.BROKER_DIR / 'log4j2-tools.xml'}",
            "-cp",
            f"{kafka_home}/libs/*",
            "kafka.tools.StorageTool",
            "version-mapping",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "metadata.version=" in proc.stdout
