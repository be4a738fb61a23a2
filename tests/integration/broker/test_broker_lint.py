"""The broker image's Dockerfile and entrypoint pass their linters (hadolint, shellcheck)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devstack import kafka_dist


def tool(name: str) -> str:
    # The linters are dev dependencies: wheels that ship the binaries into the venv.
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is missing: run `make venv` (it is a dev dependency)"
    return found


@pytest.mark.parametrize(
    ("linter", "target"),
    [("hadolint", "Dockerfile"), ("shellcheck", "entrypoint"), ("shellcheck", "kafka-ready")],
)
def test_broker_files_lint_clean(linter: str, target: str) -> None:
    proc = subprocess.run(
        [tool(linter), str(kafka_dist.BROKER_DIR / target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_image_and_local_runs_share_one_pom_and_versions_file() -> None:
    dockerfile = (kafka_dist.BROKER_DIR / "Dockerfile").read_text()
    assert "COPY pom.xml versions.json" in dockerfile
    assert 'ENTRYPOINT ["/opt/kplane/entrypoint"]' in dockerfile
    assert "USER 1000" in dockerfile
    assert f"ARG KAFKA_VERSION={kafka_dist.default_version()}" in dockerfile
    pom = kafka_dist.POM_FILE.read_text()
    assert f"<kafka.version>{kafka_dist.default_version()}</kafka.version>" in pom
