"""The real `kplane` executable (the console script installed into the venv) run as a
subprocess against a live API server (uvicorn on Postgres + Redis, no workers: resources stay
CREATING and their Operations stay not done, which is what `--no-wait` needs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveApi

KPLANE = Path(sys.executable).parent / "kplane"


@dataclass
class Kplane:
    """Runs `kplane` with its own config directory and the live API in its environment."""

    env: dict[str, str]
    config_home: Path
    calls: list[list[str]] = field(default_factory=list)

    def run(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(args))
        return subprocess.run(
            [str(KPLANE), *args],
            input=input,
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=120,
        )

    def ok(self, *args: str, input: str | None = None) -> str:
        r = self.run(*args, input=input)
        assert r.returncode == 0, f"kplane {' '.join(args)}: rc={r.returncode}\n{r.stderr}"
        return r.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "-o", "json"))


@dataclass
class Api:
    """The same API through httpx, as the admin: what the CLI's output is compared with."""

    http: httpx.Client

    def ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        r = self.http.request(method, path, **kwargs)
        assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text}"
        body: dict[str, Any] = r.json()
        return body


@pytest.fixture(scope="session")
def kplane_installed() -> Path:
    assert KPLANE.exists(), f"{KPLANE} is missing: `make venv` installs the kplane entry point"
    return KPLANE


@pytest.fixture
def api(live_api: LiveApi) -> Iterator[Api]:
    with httpx.Client(base_url=live_api.base_url, headers=live_api.admin, timeout=30) as http:
        yield Api(http)


@pytest.fixture
def project(api: Api) -> str:
    """A project of its own for each test, with a 3-broker cluster `main` (CREATING)."""
    project = f"cli-{uuid.uuid4().hex[:8]}"
    api.ok("POST", "/v1/projects", params={"project_id": project}, json={})
    api.ok(
        "POST",
        f"/v1/projects/{project}/clusters",
        params={"cluster_id": "main"},
        json={"broker_count": 3},
    )
    return project


@pytest.fixture
def kplane(kplane_installed: Path, live_api: LiveApi, project: str, tmp_path: Path) -> Kplane:
    """`kplane` configured through the environment (KPLANE_ENDPOINT/TOKEN/PROJECT)."""
    config_home = tmp_path / "config"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("KPLANE_") or k == "KPLANE_CACHE"
    }
    env.update(
        {
            "XDG_CONFIG_HOME": str(config_home),
            "KPLANE_ENDPOINT": live_api.base_url,
            "KPLANE_TOKEN": live_api.admin["Authorization"].removeprefix("Bearer "),
            "KPLANE_PROJECT": project,
            "COLUMNS": "200",
        }
    )
    return Kplane(env, config_home)
