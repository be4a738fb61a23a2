"""The local Kubernetes substrate's latencies, measured side by side in one run.

- apiserver start -> /readyz ok, and the whole substrate start -> node Ready, over
  `--starts` fresh starts (etcd, apiserver, controller-manager, pod runner);
- pod created -> its process running (the runner reports the container running) -> Ready,
  p50 and p95 over `--pods` pods, one at a time, for two kinds of pod: a container without
  probes (Ready when running) and an HTTP server with an httpGet readiness probe
  (periodSeconds 1), whose ratio shows what the probe period costs.

    .venv/bin/python bench/devstack.py [--pods 20] [--starts 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devstack.kube.rest import KubeRest  # noqa: E402
from devstack.kube.substrate import KubeSubstrate  # noqa: E402
from devstack.pytest_plugin import create_namespace  # noqa: E402

SERVER = (
    "import http.server as h; "
    "h.ThreadingHTTPServer(('0.0.0.0', 8080), h.SimpleHTTPRequestHandler).serve_forever()"
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def pod_manifest(name: str, probe: bool) -> dict[str, Any]:
    if probe:
        container: dict[str, Any] = {
            "name": "c",
            "image": "python:3.11",
            "command": ["python3", "-c", SERVER],
            "readinessProbe": {"httpGet": {"port": 8080, "path": "/"}, "periodSeconds": 1},
        }
    else:
        container = {"name": "c", "image": "busybox", "command": ["sleep", "3600"]}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [container], "terminationGracePeriodSeconds": 1},
    }


class PodTimer:
    """Watches pods and stamps, per pod name, when the container first ran and became Ready."""

    def __init__(self, rest: KubeRest, namespace: str) -> None:
        self.rest, self.namespace = rest, namespace
        self.running: dict[str, float] = {}
        self.ready: dict[str, float] = {}
        self.cond = threading.Condition()
        self.stop = threading.Event()
        version = rest.get(f"/api/v1/namespaces/{namespace}/pods")["metadata"]["resourceVersion"]
        self.thread = threading.Thread(target=self._watch, args=(version,), daemon=True)
        self.thread.start()

    def _watch(self, version: str) -> None:
        try:
            self._stream(version)
        except Exception:
            if not self.stop.is_set():  # the substrate stopping ends the watch: expected
                raise

    def _stream(self, version: str) -> None:
        while not self.stop.is_set():
            for event in self.rest.watch(f"/api/v1/namespaces/{self.namespace}/pods", version):
                now = time.monotonic()
                pod = event.object
                version = pod["metadata"].get("resourceVersion", version)
                name = pod["metadata"].get("name", "")
                status = pod.get("status", {})
                with self.cond:
                    statuses = status.get("containerStatuses") or [{}]
                    if "running" in statuses[0].get("state", {}):
                        self.running.setdefault(name, now)
                    if any(
                        c["type"] == "Ready" and c["status"] == "True"
                        for c in status.get("conditions", [])
                    ):
                        self.ready.setdefault(name, now)
                    self.cond.notify_all()
                if self.stop.is_set():
                    return

    def wait_ready(self, name: str, timeout: float = 60.0) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: name in self.ready, timeout):
                raise TimeoutError(f"pod {name} not Ready after {timeout}s")


def measure_pods(
    substrate: KubeSubstrate, count: int, probe: bool
) -> tuple[list[float], list[float]]:
    rest = substrate.rest()
    ns = create_namespace(rest, "bench-probe" if probe else "bench-plain")
    timer = PodTimer(rest, ns)
    to_running, to_ready = [], []
    for i in range(count):
        name = f"p{i}"
        t0 = time.monotonic()
        rest.create(f"/api/v1/namespaces/{ns}/pods", pod_manifest(name, probe))
        timer.wait_ready(name)
        to_running.append(timer.running[name] - t0)
        to_ready.append(timer.ready[name] - t0)
    timer.stop.set()
    rest.delete(f"/api/v1/namespaces/{ns}")
    return to_running, to_ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=20)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()

    apiserver_ready, substrate_ready = [], []
    with tempfile.TemporaryDirectory(prefix="kplane-bench-") as tmp:
        substrate: KubeSubstrate | None = None
        for run in range(args.starts):
            substrate = KubeSubstrate(Path(tmp) / "kube")
            t0 = time.monotonic()
            substrate.start()
            substrate_ready.append(time.monotonic() - t0)
            apiserver_ready.append(substrate.apiserver_ready_seconds)
            if run < args.starts - 1:
                substrate.stop()
        assert substrate is not None
        try:
            plain = measure_pods(substrate, args.pods, probe=False)
            probed = measure_pods(substrate, args.pods, probe=True)
        finally:
            substrate.stop()

    def row(label: str, values: list[float]) -> dict[str, float]:
        p50, p95 = percentile(values, 50), percentile(values, 95)
        print(f"  {label:<44} p50 {p50 * 1000:8.0f} ms   p95 {p95 * 1000:8.0f} ms")
        return {"p50": p50, "p95": p95}

    print(f"devstack latencies ({args.starts} starts, {args.pods} pods per kind, one at a time)")
    results = {
        "apiserver start -> /readyz": row("apiserver start -> /readyz ok", apiserver_ready),
        "substrate start -> node Ready": row("substrate start -> node Ready", substrate_ready),
        "plain: created -> running": row("pod (no probe): created -> process running", plain[0]),
        "plain: created -> Ready": row("pod (no probe): created -> Ready", plain[1]),
        "probed: created -> running": row("pod (httpGet probe): created -> running", probed[0]),
        "probed: created -> Ready": row("pod (httpGet probe): created -> Ready", probed[1]),
    }
    ratio = results["probed: created -> Ready"]["p50"] / results["plain: created -> Ready"]["p50"]
    share = (
        results["apiserver start -> /readyz"]["p50"]
        / results["substrate start -> node Ready"]["p50"]
    )
    print(f"  ratio Ready p50, httpGet probe / no probe: {ratio:.2f}x")
    print(f"  share of substrate start spent until apiserver ready (p50): {share:.2f}")
    print(json.dumps({k: {q: round(v, 4) for q, v in d.items()} for k, d in results.items()}))


if __name__ == "__main__":
    main()
