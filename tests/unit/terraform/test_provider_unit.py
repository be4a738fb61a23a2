"""terraform-provider-kplane without a network: gofmt, `go vet`, the Go unit tests (schema and
model mapping, import ids, name rules, the HTTP client's retries and Operation waits against a
loopback server), and the provider's config allow-lists against the API's."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from app.core.kafka_config import BROKER_CONFIGS, TOPIC_CONFIGS
from devstack import terraform

ALLOWLIST = terraform.MODULE / "internal" / "provider" / "allowlist.go"


def test_gofmt_clean() -> None:
    gofmt = Path(terraform.go_binary()).resolve().parent / "gofmt"
    out = subprocess.run(
        [str(gofmt), "-l", "."], cwd=terraform.MODULE, capture_output=True, text=True, check=True
    )
    assert out.stdout == "", f"gofmt -w these files:\n{out.stdout}"


def test_go_vet() -> None:
    terraform.go(["vet", "./..."])


def test_go_unit_tests() -> None:
    # TF_ACC unset: the acceptance tests skip themselves (tests/e2e/terraform runs them).
    out = terraform.go(["test", "-count=1", "./..."], env={"TF_ACC": ""})
    print(out)
    assert "ok  \tgithub.com/kplane/terraform-provider-kplane/internal/provider" in out
    assert "ok  \tgithub.com/kplane/terraform-provider-kplane/internal/client" in out


def _go_set(name: str) -> set[str]:
    block = ALLOWLIST.read_text().split(f"var {name} = setOf(")[1].split(")")[0]
    return set(re.findall(r'"([^"]+)"', block))


def test_allowlists_equal_the_api() -> None:
    assert _go_set("topicConfigKeys") == set(TOPIC_CONFIGS)
    assert _go_set("brokerConfigKeys") == set(BROKER_CONFIGS)
