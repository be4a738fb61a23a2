"""`tofu apply` of 1,000 topics (and of one ACL of 1,000 entries) through terraform-provider-kplane
on an existing cluster, then `tofu plan` of the applied configuration (a refresh of every
topic), beside the same number of topics through one `topics:batchCreate` call, in one run.

Goals (issue 13): apply <= 60 s and <= 10x the batch call; plan <= 10 s. Topics have one
partition and replication factor 1 on both sides. For scale, the same tofu applies and plans as
many `terraform_data` instances (no provider, no API): tofu's own floor. Run
`make bench-terraform`.

    .venv/bin/python -m bench.terraform [--topics 1000] [--parallelism 10]
"""

from __future__ import annotations

import argparse
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

resource "kplane_topic" "t" {
  for_each           = toset([for i in range(%(n)d) : "tf-${i}"])
  cluster_id         = "t"
  topic_id           = each.key
  partition_count    = 1
  replication_factor = 1
}
"""

# tofu's own cost for as many resource instances, without any provider: the floor under the
# figures above.
BASELINE_TF = """
resource "terraform_data" "t" {
  for_each = toset([for i in range(%(n)d) : "tf-${i}"])
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


def timed(tofu: terraform.TofuSetup, args: list[str], work: Path) -> float:
    started = time.monotonic()
    terraform.run(tofu, [*args, "-no-color", "-input=false"], work, timeout=1800)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--parallelism", type=int, default=10, help="tofu -parallelism")
    parser.add_argument("--acl-entries", type=int, default=1000)
    args = parser.parse_args()
    n = args.topics
    provider_dir = terraform.build_provider()
    with bench_stack() as stack, tempfile.TemporaryDirectory() as tmp:
        stack.ok("POST", "/v1/projects", params={"project_id": "bench"}, json={})
        stack.create_cluster("bench", "t")
        work = Path(tmp)
        tofu = terraform.setup(
            work,
            provider_dir,
            stack.cp.api_url,
            stack.http.headers["Authorization"].removeprefix("Bearer "),
        )
        (work / "main.tf").write_text(MAIN_TF % {"n": n})
        parallel = f"-parallelism={args.parallelism}"

        batch_response, batch_done = batch_create(stack, n)
        print(
            f"topics:batchCreate of {n}: response {batch_response:.2f} s, "
            f"all done {batch_done:.2f} s",
            flush=True,
        )
        apply_s = timed(tofu, ["apply", "-auto-approve", parallel], work)
        listed = stack.ok(
            "GET", f"{CLUSTER}/topics", params={"page_size": 1000, "filter": 'name = "tf-*"'}
        )
        assert len(listed["topics"]) == min(n, 1000), "tofu apply did not create every topic"
        print(
            f"tofu apply of {n} topics ({parallel}): {apply_s:.1f} s = "
            f"{apply_s / batch_done:.1f}x the batch call  (goal <= 60 s and <= 10x)",
            flush=True,
        )
        plan_s = timed(tofu, ["plan", "-detailed-exitcode", parallel], work)
        print(f"tofu plan of the {n} applied topics: {plan_s:.1f} s  (goal <= 10 s)", flush=True)
        baseline = work / "baseline"
        baseline.mkdir()
        (baseline / "main.tf").write_text(BASELINE_TF % {"n": n})
        base_apply = timed(tofu, ["apply", "-auto-approve", parallel], baseline)
        base_plan = timed(tofu, ["plan", parallel], baseline)
        print(
            f"baseline, {n} terraform_data (no provider, no API): apply {base_apply:.1f} s, "
            f"plan {base_plan:.1f} s",
            flush=True,
        )
        (work / "acl.tf").write_text(ACL_TF % {"n": args.acl_entries})
        acl_s = timed(tofu, ["apply", "-auto-approve", parallel, "-target=kplane_acl.many"], work)
        print(f"tofu apply of one ACL with {args.acl_entries} entries: {acl_s:.1f} s", flush=True)


if __name__ == "__main__":
    main()
