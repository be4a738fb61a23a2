"""`tofu apply` of 1,000 topics (and of one ACL of 1,000 entries) through terraform-provider-kplane
on an existing cluster, then `tofu plan` of the applied configuration (a refresh of every
topic), beside the same number of topics through one `topics:batchCreate` call, and beside
tofu's own cost for as many `terraform_data` instances (no provider, no API), all in one run.

Goals (issue 13): apply <= 60 s and <= 10x the batch call; plan <= 10 s. Topics have one
partition and replication factor 1 on both sides. The topics are applied twice, at tofu's
default -parallelism (10) and at a higher one (other topic names), since creates wait on their
Operations. Both configurations iterate `for_each` over a map held in a local: a `for_each` over
`toset([...])` of 1,000 strings costs tofu itself about 30 s of CPU per plan on this machine
(the old figures of this benchmark), the map about 1 s. Run `make bench-terraform`.

    .venv/bin/python -m bench.terraform [--topics 1000] [--parallelism 10] [--high-parallelism 100]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.workers_stack import BenchStack, bench_stack
from devstack import terraform

CLUSTER = "/v1/projects/bench/clusters/t"

MAIN_TF = """
terraform {
  required_providers {
    kplane = { source = "kplane/kplane" }
  }
}

provider "kplane" {
  project = "bench"
}

locals {
  topics = { for i in range(%(n)d) : "%(prefix)s${i}" => i }
}

resource "kplane_topic" "t" {
  for_each           = local.topics
  cluster_id         = "t"
  topic_id           = each.key
  partition_count    = 1
  replication_factor = 1
}
"""

# tofu's own cost for as many resource instances, without any provider: the floor under the
# figures above.
BASELINE_TF = """
locals {
  names = { for i in range(%(n)d) : "tf-${i}" => i }
}

resource "terraform_data" "t" {
  for_each = local.names
  input    = each.key
}
"""

ACL_TF = """
resource "kplane_acl" "many" {
  cluster_id  = "t"
  acl_id      = "topicPrefixed/tf-"
  acl_entries = [for i in range(%(n)d) : { principal = "User:u-${i}", operation = "READ" }]
}
"""


def batch_create(stack: BenchStack, n: int) -> tuple[float, float]:
    """Seconds to the batch call's response, and until every Operation is done."""
    started = time.monotonic()
    body = {
        "requests": [
            {"topic_id": f"batch-{i}", "topic": {"partition_count": 1, "replication_factor": 1}}
            for i in range(n)
        ]
    }
    ops = stack.ok("POST", f"{CLUSTER}/topics:batchCreate", json=body)["operations"]
    responded = time.monotonic() - started
    for op in ops:
        stack.wait_op(op, timeout=600)
    return responded, time.monotonic() - started


def timed(
    tofu: terraform.TofuSetup, args: list[str], work: Path, ok: tuple[int, ...] = (0,)
) -> float:
    """Seconds of one tofu command; a plan run with -detailed-exitcode and ok=(0,) also asserts
    that it found no changes."""
    started = time.monotonic()
    terraform.run(tofu, [*args, "-no-color", "-input=false"], work, timeout=1800, ok=ok)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--parallelism", type=int, default=10, help="tofu -parallelism")
    parser.add_argument("--high-parallelism", type=int, default=100, help="0: no second apply")
    parser.add_argument("--acl-entries", type=int, default=1000)
    args = parser.parse_args()
    n = args.topics
    provider_dir = terraform.build_provider()
    figures: list[tuple[str, str]] = []

    def report(what: str, figure: str) -> None:
        figures.append((what, figure))
        print(f"{what}: {figure}", flush=True)

    with bench_stack() as stack, tempfile.TemporaryDirectory() as tmp:
        stack.ok("POST", "/v1/projects", params={"project_id": "bench"}, json={})
        stack.create_cluster("bench", "t")
        token = stack.http.headers["Authorization"].removeprefix("Bearer ")
        tofu = terraform.setup(Path(tmp), provider_dir, stack.cp.api_url, token)

        batch_response, batch_done = batch_create(stack, n)
        report(
            f"one topics:batchCreate of {n}",
            f"response {batch_response:.2f} s, every Operation done {batch_done:.2f} s",
        )
        baseline = Path(tmp) / "baseline"
        baseline.mkdir()
        (baseline / "main.tf").write_text(BASELINE_TF % {"n": n})
        base_apply = timed(tofu, ["apply", "-auto-approve"], baseline)
        base_plan = timed(tofu, ["plan", "-detailed-exitcode"], baseline, ok=(0,))
        report(
            f"baseline: {n} terraform_data (no provider, no API)",
            f"apply {base_apply:.1f} s, plan {base_plan:.1f} s",
        )
        work = Path(tmp) / "topics"
        for parallelism, prefix in ((args.parallelism, "tf-"), (args.high_parallelism, "tg-")):
            if parallelism <= 0:
                continue
            work = Path(tmp) / f"topics-{parallelism}"
            work.mkdir()
            (work / "main.tf").write_text(MAIN_TF % {"n": n, "prefix": prefix})
            apply_s = timed(tofu, ["apply", "-auto-approve", f"-parallelism={parallelism}"], work)
            listed = stack.ok(
                "GET",
                f"{CLUSTER}/topics",
                params={"page_size": 1000, "filter": f'name = "{prefix}*"'},
            )
            assert len(listed["topics"]) == min(n, 1000), "tofu apply did not create every topic"
            report(
                f"tofu apply of {n} kplane_topic (-parallelism={parallelism})",
                f"{apply_s:.1f} s = {apply_s / batch_done:.1f}x the batch call "
                "(goal <= 60 s and <= 10x)",
            )
            if parallelism == args.parallelism:
                plan_s = timed(tofu, ["plan", "-detailed-exitcode"], work, ok=(0,))
                report(
                    f"tofu plan (refresh) of the {n} applied topics",
                    f"{plan_s:.1f} s (goal <= 10 s)",
                )
        (work / "acl.tf").write_text(ACL_TF % {"n": args.acl_entries})
        acl_s = timed(tofu, ["apply", "-auto-approve", "-target=kplane_acl.many"], work)
        report(f"tofu apply of one kplane_acl with {args.acl_entries} entries", f"{acl_s:.1f} s")
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nside by side (load average at the end {load}):")
    width = max(len(what) for what, _ in figures)
    for what, figure in figures:
        print(f"  {what:<{width}}  {figure}")


if __name__ == "__main__":
    main()
