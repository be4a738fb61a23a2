"""Schemathesis drives every operation of openapi/openapi.json against the running API, with
generated valid and invalid inputs; no response may be a 5xx."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx

from tests.conftest import REPO, LiveApi


def test_openapi_fuzzing_finds_no_server_error(live_api: LiveApi) -> None:
    # A project and cluster to aim at, so that generated paths also reach the deep handlers.
    with httpx.Client(base_url=live_api.base_url, headers=live_api.admin) as c:
        c.post("/v1/projects?project_id=fuzz", json={})
        c.post("/v1/projects/fuzz/clusters?cluster_id=fuzz", json={"broker_count": 3})
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            str(REPO / "openapi/openapi.json"),
            "--url",
            live_api.base_url,
            "--header",
            f"Authorization: {live_api.admin['Authorization']}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "25",
            "--no-color",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    tail = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, tail
    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert tested is not None, tail
    assert int(tested.group(1)) >= 38, "schemathesis did not exercise every operation"
