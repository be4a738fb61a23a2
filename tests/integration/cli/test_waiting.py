"""Waiting on an Operation nothing works on (no workers here): progress lines on a stderr that
is not a terminal, and Ctrl-C leaving the Operation running with the command to follow it."""

from __future__ import annotations

import signal
import subprocess
import time

from tests.integration.cli.conftest import KPLANE, Api, Kplane


def test_ctrl_c_leaves_the_operation_running_and_says_how_to_follow_it(
    kplane: Kplane, api: Api, project: str
) -> None:
    proc = subprocess.Popen(
        [str(KPLANE), "topics", "create", "waited", "-c", "main", "--wait"],
        env=kplane.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # the first progress line: it is waiting now
        assert "create projects/" in first and "topics/waited" in first, first
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        _, rest = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    ops = api.ok("GET", f"/v1/projects/{project}/operations")["operations"]
    [op_name] = [o["name"] for o in ops if o["metadata"]["target"].endswith("/topics/waited")]
    assert f"kplane operations wait {op_name}" in rest
    assert api.ok("GET", f"/v1/{op_name}")["done"] is False
    assert api.ok("GET", f"/v1/projects/{project}/clusters/main/topics/waited")["state"] == (
        "CREATING"
    )
