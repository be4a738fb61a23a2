"""The progress bar of `kplane ... --wait` as a person sees it: the real executable in a
pseudo-terminal (util-linux `script`) against the whole stack, following a topic create on the
shared cluster until the workers finish its Operation."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import Cluster, Stack

KPLANE = Path(sys.executable).parent / "kplane"


def test_wait_renders_a_progress_bar_until_the_operation_is_done(
    stack: Stack, kafka: Cluster, tmp_path: Path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KPLANE_")},
        "XDG_CONFIG_HOME": str(tmp_path),
        "KPLANE_ENDPOINT": stack.cp.api_url,
        "KPLANE_TOKEN": stack.http.headers["Authorization"].removeprefix("Bearer "),
        "KPLANE_PROJECT": kafka.project,
        "COLUMNS": "160",
        "TERM": "xterm-256color",
    }
    command = f"{KPLANE} topics create cli-progress -c {kafka.cluster} --partitions 3 --wait"
    r = subprocess.run(
        ["script", "-q", "-e", "-c", command, "/dev/null"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    screen = r.stdout
    assert r.returncode == 0, screen
    assert "\x1b[" in screen, "no terminal control sequences: the bar was not live"
    assert "━" in screen  # Rich's bar
    assert f"create projects/{kafka.project}/clusters/{kafka.cluster}/topics/cli-progress" in screen
    assert re.search(r"100%.*done", screen), screen[-2000:]
    topic = stack.ok("GET", f"{kafka.path}/topics/cli-progress")
    assert topic["state"] == "ACTIVE" and topic["partition_count"] == 3
    # After the bar, the table of the created topic (stdout shares the terminal).
    assert "partition_count" in screen
