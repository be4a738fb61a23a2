"""The control-plane image (Dockerfile at the repository root), checked without a container
engine: hadolint, agreement with the chart, and a *layout run* — the files the Dockerfile
copies, installed the way it installs them (a non-editable `pip install` of the package, the
migrations and versions file in the working directory), run with the chart's commands outside
the repository: `alembic upgrade head` on a real PostgreSQL, then the API answering /healthz,
/readyz and a versions read in `prod` mode with secrets from the environment only."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography.fernet import Fernet

from devstack import helm
from devstack.postgres import LocalPostgres
from devstack.proc import free_port, port_open, stop_pid, wait_until

DOCKERFILE = helm.REPO_ROOT / "Dockerfile"
DOCKERIGNORE = helm.REPO_ROOT / ".dockerignore"
VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Copy:
    stage: int
    sources: tuple[str, ...]
    dest: str


def stages() -> tuple[list[Copy], dict[str, str], str, list[str]]:
    """COPY lines (outside --from) per stage, the final ENV, WORKDIR and CMD of the Dockerfile."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    copies: list[Copy] = []
    env: dict[str, str] = {}
    workdir, cmd, stage = "/", [], -1
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        op = words[0].upper()
        if op == "FROM":
            stage += 1
        elif op == "COPY" and not words[1].startswith("--from"):
            copies.append(Copy(stage, tuple(words[1:-1]), words[-1]))
        elif op == "ENV" and stage == 1:
            env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
        elif op == "WORKDIR":
            workdir = words[1]
        elif op == "CMD":
            cmd = json.loads(line[len("CMD") :])
    return copies, env, workdir, cmd


def test_dockerfile_lints_clean() -> None:
    proc = subprocess.run(
        [str(VENV_BIN / "hadolint"), str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_image_agrees_with_the_chart() -> None:
    text = DOCKERFILE.read_text()
    users = re.findall(r"^USER (\d+):(\d+)$", text, re.MULTILINE)
    assert users, "the image must switch to a numeric non-root USER"
    values = yaml.safe_load(helm.VALUES_FILE.read_text())
    uid, gid = users[-1]
    assert int(uid) != 0
    assert (int(uid), int(gid)) == (
        values["podSecurityContext"]["runAsUser"],
        values["podSecurityContext"]["runAsGroup"],
    )
    copies, env, _, cmd = stages()
    assert env["KPLANE_ENVIRONMENT"] == "prod"
    assert cmd[:3] == ["uvicorn", "app.main:create_app", "--factory"]
    assert f"--port={values['api']['port']}" in cmd
    # Everything the Dockerfile copies is in the build context .dockerignore leaves.
    allowed = [
        line[1:].rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.startswith("!")
    ]
    for copy in copies:
        for source in copy.sources:
            assert any(source.rstrip("/") == a or source.startswith(a + "/") for a in allowed), (
                source
            )


@pytest.fixture(scope="module")
def image_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's files under a scratch root: /opt/venv's site-packages as `site`, the runtime
    stage's COPYs under their destinations."""
    root = tmp_path_factory.mktemp("image")
    copies, _, workdir, _ = stages()
    src = root / "src"
    for copy in copies:
        base = (src if copy.stage == 0 else root / workdir.lstrip("/")) / copy.dest
        for source in copy.sources:
            origin = helm.REPO_ROOT / source
            target = base / Path(source).name if copy.dest.endswith("/") else base
            target.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_dir():
                shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(origin, target)
    # The package as stage 1 installs it (not editable); its dependencies are this venv's.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(root / "site"),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return root


@pytest.fixture(scope="module")
def image_env(image_root: Path, postgres: LocalPostgres) -> dict[str, str]:
    _, env, _, _ = stages()
    # The image's /opt/venv is this venv (same dependencies, plus the layout's package first).
    image_env = {
        k: v.replace("/opt/venv/bin", str(VENV_BIN)).replace("$PATH", "/usr/bin:/bin")
        for k, v in env.items()
    }
    # Paths of the image live under the scratch root.
    for key, value in image_env.items():
        if value.startswith("/opt/kplane/"):
            image_env[key] = str(image_root / value.lstrip("/"))
    return {
        "PYTHONPATH": str(image_root / "site"),
        **image_env,
        "KPLANE_DATABASE_URL": postgres.create_database("kplane_image"),
        "KPLANE_REDIS_URL": "redis://127.0.0.1:1/0",
        "KPLANE_ADMIN_TOKEN": "image-admin-token-0123456789",
        "KPLANE_SECRET_KEY": "image-secret-key-0123456789",
        "KPLANE_PASSWORD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "KPLANE_LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="module")
def workdir(image_root: Path) -> Path:
    _, _, workdir, _ = stages()
    return image_root / workdir.lstrip("/")


def chart_command(component: str) -> list[str]:
    objs = helm.objects(helm.template())
    for obj in objs:
        if obj["kind"] in ("Deployment", "Job") and obj["metadata"]["name"].endswith(component):
            command: list[str] = obj["spec"]["template"]["spec"]["containers"][0]["command"]
            return command
    raise AssertionError(f"no workload *{component} in the chart")


def test_package_comes_from_the_image_layout(image_env: dict[str, str], workdir: Path) -> None:
    proc = subprocess.run(
        ["python", "-c", "import app, workers; print(app.__file__, workers.__file__)"],
        cwd=workdir,
        env=image_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert all(p.startswith(image_env["PYTHONPATH"]) for p in proc.stdout.split()), proc.stdout


@pytest.fixture(scope="module")
def migrated(image_env: dict[str, str], workdir: Path) -> None:
    proc = subprocess.run(
        chart_command("-migrate"),
        cwd=workdir,
        env=image_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def api_url(image_env: dict[str, str], workdir: Path, migrated: None) -> Iterator[str]:
    port = free_port()
    command = [a for a in chart_command("-api") if not a.startswith(("--host", "--port"))]
    proc = subprocess.Popen(
        [*command, "--host=127.0.0.1", f"--port={port}"],
        cwd=workdir,
        env=image_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: port_open("127.0.0.1", port) or proc.poll() is not None, 30, "the API")
        if proc.poll() is not None:
            raise AssertionError(f"the API exited: {proc.stdout.read() if proc.stdout else ''!r}")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_pid(proc.pid)
        proc.wait(timeout=10)


def test_migrations_and_api_run_from_the_image_layout(
    api_url: str, image_env: dict[str, str]
) -> None:
    assert httpx.get(f"{api_url}/healthz").status_code == 200
    assert httpx.get(f"{api_url}/readyz").status_code == 200
    versions = httpx.get(
        f"{api_url}/v1/kafka_versions",
        headers={"Authorization": f"Bearer {image_env['KPLANE_ADMIN_TOKEN']}"},
    )
    assert versions.status_code == 200, versions.text
    default = [v["version"] for v in versions.json()["kafka_versions"] if v["default"]]
    assert default == [helm.broker_default_version()]


def test_prod_image_refuses_placeholder_secrets(image_env: dict[str, str], workdir: Path) -> None:
    env = {**image_env, "KPLANE_SECRET_KEY": "short"}
    proc = subprocess.run(
        chart_command("-migrate"),
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "KPLANE_SECRET_KEY must be set to a real secret in prod" in proc.stderr
