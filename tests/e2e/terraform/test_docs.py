"""The provider's docs and examples: terraform/docs is what terraform-plugin-docs renders from
the built provider's schema and terraform/examples (no drift), and every example is valid
configuration for the real tofu with the real provider binary."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devstack import terraform

EXAMPLES = terraform.MODULE / "examples"
PROVIDER_TF = EXAMPLES / "provider" / "provider.tf"


def test_docs_are_fresh() -> None:
    with pytest.raises(SystemExit) as done:
        terraform.main_with(["docs-check"])
    assert done.value.code in (None, 0), done.value.code


@pytest.mark.parametrize(
    "example",
    sorted(p for p in EXAMPLES.glob("*/*/*.tf") if p != PROVIDER_TF),
    ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}",
)
def test_example_validates(example: Path, tmp_path: Path) -> None:
    shutil.copy(PROVIDER_TF, tmp_path / "provider.tf")
    shutil.copy(example, tmp_path / "main.tf")
    s = terraform.setup(tmp_path, terraform.build_provider(), "http://127.0.0.1:9", "unused")
    terraform.run(s, ["validate", "-no-color"], tmp_path)
