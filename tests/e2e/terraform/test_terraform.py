"""terraform-provider-kplane driven by the real OpenTofu binary on the live e2e stack.

- The acceptance tests (terraform/internal/provider/acc_test.go, terraform-plugin-testing) run
  through `go test` with TF_ACC=1 against the shared 3-broker cluster: topic + user + ACL apply,
  empty plans, updates, drift, plan-time refusals, imports and a destroy checked through the API.
- tofu killed mid-apply, then a re-apply: converges with no duplicates and no 409s.
- The README's main.tf (a project, a 1-broker cluster, a topic, a user and an ACL) is applied
  by `tofu` with the built provider binary via dev_overrides, then planned (no changes), every
  resource removed from state and imported (plan: no changes), then destroyed, and the API
  confirms nothing is left.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from devstack import terraform
from tests.e2e.conftest import Cluster, Stack, wait_for

README = terraform.MODULE / "README.md"


@pytest.fixture(scope="module")
def provider_dir() -> Path:
    return terraform.build_provider()


@pytest.fixture
def tofu(tmp_path: Path, stack: Stack, provider_dir: Path) -> terraform.TofuSetup:
    token = os.environ["KPLANE_ADMIN_TOKEN"]
    return terraform.setup(tmp_path, provider_dir, stack.cp.api_url, token)


def default_registry_host(tofu: terraform.TofuSetup, work: Path) -> str:
    """The host tofu completes a short provider source with, asked from tofu (not written here).

    terraform-plugin-testing reattaches the in-process provider as
    TF_ACC_PROVIDER_HOST/TF_ACC_PROVIDER_NAMESPACE/kplane, and the configurations of its
    import-block steps leave the source implied (tofu's default host): the two must be equal,
    or tofu looks for hashicorp/kplane in a registry."""
    work.mkdir()
    (work / "main.tf").write_text(
        'terraform {\n  required_providers {\n    x = { source = "kplane/x" }\n  }\n}\n'
    )
    out = terraform.run(tofu, ["providers", "-no-color"], work).stdout
    match = re.search(r"provider\[([^/\]]+)/kplane/x\]", out)
    assert match, f"`tofu providers` named no provider:\n{out}"
    return match.group(1)


@pytest.mark.timeout(1500)
def test_acceptance_suite(tofu: terraform.TofuSetup, kafka: Cluster, tmp_path: Path) -> None:
    env = {
        **tofu.env,
        "TF_ACC": "1",
        "TF_ACC_TERRAFORM_PATH": str(tofu.tofu),
        "TF_ACC_PROVIDER_NAMESPACE": "hashicorp",
        "TF_ACC_PROVIDER_HOST": default_registry_host(tofu, tmp_path / "host"),
        "KPLANE_TEST_PROJECT": kafka.project,
        "KPLANE_TEST_CLUSTER": kafka.cluster,
    }
    started = time.monotonic()
    try:
        out = terraform.go(
            ["test", "-count=1", "-v", "-timeout=20m", "-run", "TestAcc", "./internal/provider/"],
            env=env,
            timeout=1400,
        )
    except terraform.TofuError as failure:
        pytest.fail(str(failure), pytrace=False)
    print(out)
    print(f"acceptance tests: {time.monotonic() - started:.1f}s")
    passed = re.findall(r"^--- PASS: (TestAcc\w+)", out, re.MULTILINE)
    assert passed, f"no acceptance test ran (skipped?):\n{out}"
    assert "--- SKIP" not in out and "--- FAIL" not in out, out


def readme_main_tf() -> str:
    """The ```hcl block of the README's "Example: main.tf" section."""
    section = README.read_text().split("## Example: main.tf", 1)[1]
    match = re.search(r"```hcl\n(.*?)```", section, re.DOTALL)
    assert match, "terraform/README.md has no ```hcl block under 'Example: main.tf'"
    return match.group(1)


@pytest.mark.timeout(1500)
def test_readme_main_tf_applies_plans_clean_and_destroys(
    tofu: terraform.TofuSetup, stack: Stack, tmp_path: Path, kafka: Cluster
) -> None:
    # `kafka` first: the shared cluster is up before this one starts (two cores).
    project = f"tf-{uuid.uuid4().hex[:8]}"
    work = tmp_path / "demo"
    work.mkdir()
    (work / "main.tf").write_text(readme_main_tf())
    tofu.env["TF_VAR_project"] = project
    started = time.monotonic()
    try:
        terraform.run(tofu, ["apply", "-auto-approve", "-no-color", "-input=false"], work, 1200)
        applied = time.monotonic() - started
        cluster = stack.ok("GET", f"/v1/projects/{project}/clusters/dev")
        assert cluster["state"] == "ACTIVE" and cluster["broker_count"] == 1
        topic = stack.ok("GET", f"/v1/projects/{project}/clusters/dev/topics/orders")
        assert topic["partition_count"] == 3
        assert topic["configs"] == {"retention.ms": "86400000", "cleanup.policy": "delete"}
        acl = stack.ok("GET", f"/v1/projects/{project}/clusters/dev/acls/topic/orders")
        assert {e["operation"] for e in acl["acl_entries"]} == {"READ", "WRITE"}
        out = terraform.run(tofu, ["output", "-raw", "app_password"], work).stdout
        assert len(out) == 32, "the generated password is in state once"
        plan = terraform.run(
            tofu, ["plan", "-detailed-exitcode", "-no-color", "-input=false"], work, ok=(0, 2)
        )
        assert plan.returncode == 0, f"plan after apply is not empty:\n{plan.stdout}"
        # Import of every resource into an empty state, by API path and by short form.
        imports = {
            "kplane_project.demo": project,
            "kplane_cluster.dev": f"projects/{project}/clusters/dev",
            "kplane_topic.orders": f"{project}/dev/orders",
            "kplane_user.app": f"projects/{project}/clusters/dev/users/app",
            "kplane_acl.orders": f"{project}/dev/topic/orders",
        }
        terraform.run(tofu, ["state", "rm", *imports], work)
        for address, import_id in imports.items():
            terraform.run(tofu, ["import", "-no-color", "-input=false", address, import_id], work)
        plan = terraform.run(
            tofu, ["plan", "-detailed-exitcode", "-no-color", "-input=false"], work, ok=(0, 2)
        )
        assert plan.returncode == 0, f"plan after import is not empty:\n{plan.stdout}"
    finally:
        terraform.run(tofu, ["destroy", "-auto-approve", "-no-color", "-input=false"], work, 900)
    print(f"README main.tf: apply {applied:.1f}s, total {time.monotonic() - started:.1f}s")
    for path in (f"/v1/projects/{project}/clusters/dev", f"/v1/projects/{project}"):
        assert stack.call("GET", path).status_code == 404, f"{path} left after destroy"


CRASH_TF = """
terraform {
  required_providers {
    kplane = { source = "kplane/kplane" }
  }
}

provider "kplane" {
  project = "%(project)s"
}

resource "kplane_topic" "t" {
  for_each           = toset([for i in range(%(n)d) : "%(prefix)s${i}"])
  cluster_id         = "%(cluster)s"
  topic_id           = each.key
  partition_count    = 1
  replication_factor = 1
}
"""


def _listed(stack: Stack, kafka: Cluster, prefix: str) -> list[str]:
    body = stack.ok("GET", f"{kafka.path}/topics", params={"filter": f'name = "{prefix}*"'})
    return [t["name"].rsplit("/", 1)[1] for t in body["topics"]]


@pytest.mark.timeout(900)
def test_killed_apply_then_reapply_converges(
    tofu: terraform.TofuSetup, stack: Stack, kafka: Cluster, tmp_path: Path
) -> None:
    """tofu killed (SIGKILL) mid-apply, so its state misses topics the API created; a re-apply
    converges (each create's idempotency key replays the first call instead of a 409), with
    exactly the configured topics, and a plan after it is empty."""
    n, prefix = 30, f"crash-{uuid.uuid4().hex[:6]}-"
    work = tmp_path / "crash"
    work.mkdir()
    (work / "main.tf").write_text(
        CRASH_TF % {"project": kafka.project, "cluster": kafka.cluster, "n": n, "prefix": prefix}
    )
    command = [str(tofu.tofu), "apply", "-auto-approve", "-no-color", "-input=false"]
    with subprocess.Popen(
        command, cwd=work, env=tofu.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as proc:
        wait_for(lambda: len(_listed(stack, kafka, prefix)) >= 3, 120, "the first topics")
        proc.kill()
    created_before = len(_listed(stack, kafka, prefix))
    # The killed run left its lock file behind; that is the crash being simulated.
    terraform.run(tofu, [*command[1:], "-lock=false"], work, timeout=600)
    assert sorted(_listed(stack, kafka, prefix)) == sorted(f"{prefix}{i}" for i in range(n))
    plan = terraform.run(
        tofu, ["plan", "-detailed-exitcode", "-no-color", "-lock=false"], work, ok=(0, 2)
    )
    assert plan.returncode == 0, f"plan after the re-apply is not empty:\n{plan.stdout}"
    terraform.run(tofu, ["destroy", "-auto-approve", "-no-color", "-lock=false"], work, 600)
    assert _listed(stack, kafka, prefix) == []
    print(f"killed after {created_before}/{n} topics existed; the re-apply converged")
