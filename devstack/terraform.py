"""OpenTofu and terraform-provider-kplane for the tests and the benchmark: the tofu binary (built
from the Go module proxy by terraform/build-tofu.sh, cached by version), the provider binary
(`go build` of terraform/, outside the tree), and a CLI config whose `dev_overrides` points
kplane/kplane at that binary so that no registry is ever contacted.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODULE = REPO / "terraform"
BUILD_SCRIPT = MODULE / "build-tofu.sh"
TOFU_VERSION = (MODULE / "TOFU_VERSION").read_text().strip()
# The provider's source address (OpenTofu's default host is implied).
PROVIDER_SOURCE = "kplane/kplane"


class TofuError(RuntimeError):
    """A build or a tofu command failed; the message holds the command and its output."""


def cache_root() -> Path:
    return Path(os.environ.get("KPLANE_CACHE", Path.home() / ".cache" / "kplane"))


def tofu_path(version: str = TOFU_VERSION) -> Path:
    return cache_root() / "tofu" / version / "bin" / "tofu"


def ensure_tofu(version: str = TOFU_VERSION) -> Path:
    """The cached tofu binary, built first if missing (minutes the first time)."""
    path = tofu_path(version)
    if not (path.parent / ".complete").exists():
        env = dict(os.environ, TOFU_VERSION=version, KPLANE_CACHE=str(cache_root()))
        result = subprocess.run(["bash", str(BUILD_SCRIPT)], env=env, check=False)
        if result.returncode != 0:
            raise TofuError(f"building tofu {version} failed (exit {result.returncode})")
    return path


def go_binary() -> str:
    """The Go toolchain (PATH, else the usual install place)."""
    found = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(found).exists():
        raise TofuError("Go is needed to build terraform-provider-kplane (see devstack/os-deps.sh)")
    return found


def go(args: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 900) -> str:
    """Run `go args...` in terraform/; its combined output, or TofuError with it."""
    proc = subprocess.run(
        [go_binary(), *args],
        cwd=MODULE,
        # No VCS stamping: the module sits in a subdirectory of a clone that may be owned by
        # another user (git's safe.directory), which would fail the build for nothing.
        env={**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise TofuError(f"`go {' '.join(args)}` exited {proc.returncode}:\n{output}")
    return output


def build_provider() -> Path:
    """Build the provider (incremental) and return the directory holding its binary."""
    out = cache_root() / "terraform-provider-kplane" / "bin"
    out.mkdir(parents=True, exist_ok=True)
    go(["build", "-trimpath", "-o", str(out / "terraform-provider-kplane"), "."])
    return out


@dataclass(frozen=True)
class TofuSetup:
    """What a tofu run needs: the binary and the environment (CLI config with dev_overrides)."""

    tofu: Path
    env: dict[str, str]


def setup(workdir: Path, provider_dir: Path, endpoint: str, token: str) -> TofuSetup:
    """tofu with a CLI config (under `workdir`) that takes kplane/kplane from `provider_dir`
    and has no other installation method, so nothing is ever downloaded."""
    config = workdir / "tofu.rc"
    config.write_text(
        "provider_installation {\n"
        f'  dev_overrides {{\n    "{PROVIDER_SOURCE}" = "{provider_dir}"\n  }}\n'
        "}\n"
    )
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(config),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
        "KPLANE_ENDPOINT": endpoint,
        "KPLANE_TOKEN": token,
    }
    return TofuSetup(ensure_tofu(), env)


def run(
    s: TofuSetup, args: Sequence[str], cwd: Path, timeout: float = 600, ok: Sequence[int] = (0,)
) -> subprocess.CompletedProcess[str]:
    """Run `tofu args...` in `cwd`; TofuError with its output unless the exit code is in `ok`."""
    proc = subprocess.run(
        [str(s.tofu), *args],
        cwd=cwd,
        env=s.env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode not in ok:
        raise TofuError(
            f"`tofu {' '.join(args)}` exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


DOCS = MODULE / "docs"


def generate_docs(out: Path) -> None:
    """Render the provider's docs (terraform-plugin-docs, from terraform/examples and the schema
    `tofu providers schema -json` reports for the built provider) into `out`."""
    with tempfile.TemporaryDirectory(prefix="kplane-tfdocs-") as tmp:
        work = Path(tmp)
        s = setup(work, build_provider(), "http://127.0.0.1:9", "unused")
        shutil.copy(MODULE / "examples" / "provider" / "provider.tf", work / "main.tf")
        raw = json.loads(run(s, ["providers", "schema", "-json"], work).stdout)
        # tfplugindocs looks the provider up by its short name.
        (only,) = raw["provider_schemas"].values()
        raw["provider_schemas"] = {"kplane": only}
        schema = work / "schema.json"
        schema.write_text(json.dumps(raw))
        go(
            [
                "tool",
                "tfplugindocs",
                "generate",
                "--provider-dir",
                str(MODULE),
                "--provider-name",
                "kplane",
                "--providers-schema",
                str(schema),
                # tfplugindocs takes it relative to the provider dir
                "--rendered-website-dir",
                os.path.relpath(out, MODULE),
            ]
        )


def main_with(argv: Sequence[str]) -> None:
    """`python -m devstack.terraform docs` regenerates terraform/docs; `docs-check` exits 1
    (SystemExit with the reason) when the committed docs differ from a fresh rendering, and 0
    when they do not."""
    command = argv[0] if argv else ""
    if command == "docs":
        generate_docs(DOCS)
        return
    if command == "docs-check":
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "docs"
            generate_docs(fresh)
            stale = sorted(
                str(p.relative_to(fresh))
                for p in fresh.rglob("*.md")
                if not (DOCS / p.relative_to(fresh)).exists()
                or not filecmp.cmp(p, DOCS / p.relative_to(fresh), shallow=False)
            )
        if stale:
            sys.exit(f"terraform/docs is stale ({', '.join(stale)}): run `make terraform-docs`")
        sys.exit(0)
    sys.exit("usage: python -m devstack.terraform docs|docs-check")


if __name__ == "__main__":
    main_with(sys.argv[1:])
