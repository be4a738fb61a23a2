"""Where the Kubernetes binaries are, building them on first use.

The version is pinned here and nowhere else in Python; `build.sh` takes it from the
environment (`KUBE_VERSION`), and the make target passes this value.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

KUBE_VERSION = "1.35.4"
BUILD_SCRIPT = Path(__file__).with_name("build.sh")


def cache_root() -> Path:
    return Path(os.environ.get("KPLANE_CACHE", Path.home() / ".cache" / "kplane"))


@dataclass(frozen=True)
class KubeBinaries:
    bin_dir: Path

    @property
    def etcd(self) -> Path:
        return self.bin_dir / "etcd"

    @property
    def kube_apiserver(self) -> Path:
        return self.bin_dir / "kube-apiserver"

    @property
    def kube_controller_manager(self) -> Path:
        return self.bin_dir / "kube-controller-manager"

    @property
    def kubectl(self) -> Path:
        return self.bin_dir / "kubectl"


def bin_dir(version: str = KUBE_VERSION) -> Path:
    return cache_root() / "kube" / f"v{version}" / "bin"


def ensure(version: str = KUBE_VERSION) -> KubeBinaries:
    """Return the cached binaries of `version`, building them first if they are missing.

    The build takes about five minutes on two cores the first time; afterwards this is a
    stat() call.
    """
    directory = bin_dir(version)
    if not (directory / ".complete").exists():
        env = dict(os.environ, KUBE_VERSION=version, KPLANE_CACHE=str(cache_root()))
        result = subprocess.run(["bash", str(BUILD_SCRIPT)], env=env, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"building Kubernetes v{version} failed (exit {result.returncode}); "
                f"see the output above, or run {BUILD_SCRIPT} by hand"
            )
    return KubeBinaries(directory)
