"""terraform-provider-kplane driven by the real OpenTofu binary on the live e2e stack.

- The acceptance tests (terraform/internal/provider/acc_test.go, terraform-plugin-testing) run
  through `go test` with TF_ACC=1 against the shared 3-broker cluster: topic + user + ACL apply,
  empty plans, updates, drift, plan-time refusals, imports and a destroy checked through the API.
- The README's main.tf (a project, a 1-broker cluster, a topic, a user and an ACL) is applied
  by `tofu` with the built provider binary via dev_overrides, then planned (no changes), then
  destroyed, and the API confirms nothing is left.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

import pytest

from devstack import terraform
from tests.e2e.conftest import Cluster, Stack

README = terraform.MODULE / "README.md"


@pytest.fixture(scope="module")
def provider_dir() -> Path:
    return terraform.build_provider()


@pytest.fixture
def tofu(tmp_path: Path, stack: Stack, provider_dir: Path) -> terraform.TofuSetup:
    token = os.environ["KPLANE_ADMIN_TOKEN"]
    return terraform.setup(tmp_path, provider_dir, stack.cp.api_url, token)


@pytest.mark.timeout(1500)
def test_acceptance_suite(tofu: terraform.TofuSetup, kafka: Cluster) -> None:
    env = {
        **tofu.env,
        "TF_ACC": "1",
        "TF_ACC_TERRAFORM_PATH": str(tofu.tofu),
        "TF_ACC_PROVIDER_NAMESPACE": "hashicorp",
        "TF_ACC_PROVIDER_HOST": "registry.opentofu.org",
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
    finally:
        terraform.run(tofu, ["destroy", "-auto-approve", "-no-color", "-input=false"], work, 900)
    print(f"README main.tf: apply {applied:.1f}s, total {time.monotonic() - started:.1f}s")
    for path in (f"/v1/projects/{project}/clusters/dev", f"/v1/projects/{project}"):
        assert stack.call("GET", path).status_code == 404, f"{path} left after destroy"
