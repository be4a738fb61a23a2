"""`kplane topics apply` of 1,000 topics beside one topics:batchCreate call of the same 1,000,
measured side by side in one run on the API alone (bench/apistack.py: no workers).

Each round makes two fresh clusters; one gets the 1,000 topics from a single batchCreate
through httpx, the other from the real `kplane` executable applying a YAML file (process start,
config, the list of existing topics, the batchCreate, the report). Which goes first alternates,
so a change in the shared machine's load falls on both. Also timed: the second `apply` of the
same file, a no-op (one list, no write).

    .venv/bin/python -m bench.cli [--rounds 3] [--topics 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.apistack import ADMIN, ApiStack, api_stack

GOAL = 1.5
KPLANE = Path(sys.executable).parent / "kplane"
TOPIC = {"partition_count": 3, "configs": {"retention.ms": "86400000"}}


def batch_create(stack: ApiStack, cluster: str, names: list[str]) -> float:
    requests = [{"topic_id": n, "topic": TOPIC} for n in names]
    with stack.client() as c:
        started = time.perf_counter()
        r = c.post(
            f"/v1/projects/bench/clusters/{cluster}/topics:batchCreate",
            json={"requests": requests},
        )
        elapsed = time.perf_counter() - started
    r.raise_for_status()
    return elapsed


def kplane_apply(
    stack: ApiStack, cluster: str, spec: Path, env: dict[str, str]
) -> tuple[float, dict[str, object]]:
    cpu_before = _children_cpu()
    started = time.perf_counter()
    r = subprocess.run(
        [str(KPLANE), "topics", "apply", "-f", str(spec), "-c", cluster, "--no-wait", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if r.returncode != 0:
        sys.exit(f"kplane apply failed: {r.stderr}")
    report: dict[str, object] = json.loads(r.stdout)
    CLI_CPU.append(_children_cpu() - cpu_before)
    return elapsed, report


CLI_CPU: list[float] = []  # CPU seconds of each kplane process: its own cost, whatever the load


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--topics", type=int, default=1000)
    args = parser.parse_args()
    names = [f"bench.topic-{i:04d}" for i in range(args.topics)]
    workdir = Path(tempfile.mkdtemp(prefix="kplane-bench-cli-"))
    spec = workdir / "topics.yaml"
    spec.write_text(yaml.safe_dump({"topics": [{"name": n, **TOPIC} for n in names]}))
    batch: list[float] = []
    apply: list[float] = []
    noop: list[float] = []
    with api_stack() as stack:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KPLANE_")},
            "XDG_CONFIG_HOME": str(workdir / "config"),
            "KPLANE_ENDPOINT": stack.base,
            "KPLANE_TOKEN": ADMIN,
            "KPLANE_PROJECT": "bench",
        }
        with stack.client() as c:
            for i in range(args.rounds):
                for kind in ("batch", "apply"):
                    c.post(
                        f"/v1/projects/bench/clusters?cluster_id={kind}-{i}",
                        json={"broker_count": 3},
                    ).raise_for_status()
        for i in range(args.rounds):
            order = ["batch", "apply"] if i % 2 == 0 else ["apply", "batch"]
            for kind in order:
                if kind == "batch":
                    batch.append(batch_create(stack, f"batch-{i}", names))
                else:
                    seconds, report = kplane_apply(stack, f"apply-{i}", spec, env)
                    assert len(report["created"]) == args.topics  # type: ignore[arg-type]
                    apply.append(seconds)
            seconds, report = kplane_apply(stack, f"apply-{i}", spec, env)
            assert (report["created"], report["updated"]) == ([], []), report
            noop.append(seconds)
            print(
                f"round {i + 1}: batchCreate {batch[-1]:.2f}s, kplane apply {apply[-1]:.2f}s, "
                f"no-op apply {noop[-1]:.2f}s"
            )
    b, a, n = (statistics.median(x) for x in (batch, apply, noop))
    ratio = a / b
    print(f"\n{args.topics} topics, median of {args.rounds} rounds:")
    print(f"  one topics:batchCreate (httpx)   {b:6.2f} s")
    print(f"  kplane topics apply (new)        {a:6.2f} s   {ratio:.2f}x  (goal <= {GOAL}x)")
    print(f"  kplane topics apply (no-op)      {n:6.2f} s")
    print(f"  CPU of one kplane process        {statistics.median(CLI_CPU):6.2f} s (median)")
    print("goal met" if ratio <= GOAL else "goal NOT met")


if __name__ == "__main__":
    main()
