"""Stopping the substrate leaves nothing behind, checked by PID (and start time) and by the
network objects it created; and a run that crashed is cleaned up by the next run of the same
workdir. These start substrates of their own beside the session's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from devstack.kube.process import ProcRef
from devstack.kube.rest import KubeRest
from devstack.kube.substrate import COMPONENTS, KubeSubstrate
from devstack.pytest_plugin import create_namespace, wait_pod_ready, wait_until


def at_least(count: int, procs: list[ProcRef]) -> list[ProcRef] | None:
    return procs if len(procs) >= count else None


def run_pods(rest: KubeRest) -> str:
    ns = create_namespace(rest, "teardown")
    # A shell with a child, and a process that ignores SIGTERM: both must be gone afterwards.
    scripts = {"parent": "sleep 3600 & wait", "stubborn": "trap '' TERM; sleep 3600"}
    for name, script in scripts.items():
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "terminationGracePeriodSeconds": 2,
                "containers": [{"name": "c", "image": "busybox", "command": ["sh", "-c", script]}],
            },
        }
        rest.create(f"/api/v1/namespaces/{ns}/pods", body)
    for name in scripts:
        wait_pod_ready(rest, ns, name)
    return ns


def test_stop_leaves_no_process_or_network_behind(tmp_path: Path) -> None:
    substrate = KubeSubstrate(tmp_path / "kube", shutdown_grace=2.0)
    substrate.start()
    try:
        run_pods(substrate.rest())
        components = substrate.pids()
        assert set(components) == set(COMPONENTS)
        # Each pod: the shell and its sleep, all in the pods' network namespaces.
        pod_procs = wait_until(lambda: at_least(4, substrate.all_pod_processes()), 10, "pods")
        assert substrate.network_leftovers(), "the bridge and namespaces exist while running"
    finally:
        substrate.stop()
    everything = list(components.values()) + pod_procs
    assert all(p.alive() is False for p in everything), [p for p in everything if p.alive()]
    assert substrate.network_leftovers() == []
    assert not (tmp_path / "kube" / "state.json").exists()


def test_next_run_cleans_up_after_a_crashed_one(tmp_path: Path) -> None:
    workdir = tmp_path / "kube"
    serve = subprocess.Popen(
        [sys.executable, "-m", "devstack.kube", "serve", "--workdir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: (workdir / "serve.json").exists() or serve.poll() is not None, 120, "serve up"
        )
        assert serve.poll() is None, "devstack serve exited"
        server = json.loads((workdir / "serve.json").read_text())["server"]
        state = json.loads((workdir / "state.json").read_text())
        token = (workdir / "pki" / "tokens.csv").read_text().split(",", 1)[0]
        rest = KubeRest(server, token, str(workdir / "pki" / "ca.crt"))
        run_pods(rest)
        rest.close()
        observer = KubeSubstrate(workdir)  # not started: reads the workdir's network only
        stale = [ProcRef.from_json(v) for v in state["pids"].values()]
        stale += wait_until(lambda: at_least(4, observer.all_pod_processes()), 10, "pods")
        # The owner dies without cleaning up: its components and pods keep running.
        os.kill(serve.pid, signal.SIGKILL)
        serve.wait(timeout=10)
        assert all(p.alive() for p in stale)
    finally:
        if serve.poll() is None:
            serve.kill()

    successor = KubeSubstrate(workdir, shutdown_grace=2.0)
    successor.start()
    try:
        assert [p for p in stale if p.alive()] == []
        assert successor.all_pod_processes() == []  # the old pods' namespaces are gone
        assert successor.rest().get("/api/v1/namespaces/default/pods")["items"] == []  # fresh etcd
    finally:
        successor.stop()
    assert successor.network_leftovers() == []
