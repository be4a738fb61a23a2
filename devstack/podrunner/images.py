"""Which container images the pod runner can run, and how.

There is no container runtime here, so an image is *emulated*: the runner knows what a few
images contain and runs the equivalent local program.

- `kplane/broker:<kafka version>[-<suffix>]` (any registry prefix): kplane's broker image. Its
  ENTRYPOINT `/opt/kplane/entrypoint` is the repo's `broker/entrypoint` (its readiness probe
  `/opt/kplane/kafka-ready` the repo's `broker/kafka-ready`), and `/opt/kafka` is the
  cached Kafka distribution of that version (`devstack.kafka_dist.ensure`, which resolves the
  jars with Maven the first time), passed as KAFKA_HOME — exactly the layout of the image.
- `busybox`, `debian`, `python` (any tag, Docker Hub names): generic images whose commands are
  plain executables of this Debian host (`sh`, `sleep`, `python3`, ...). Useful for fast tests
  of probes, restarts and volumes.

Anything else is refused with `ImageNotRunnable`, which the runner reports in the container's
status (waiting, reason ImageNotRunnable) — never silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
BROKER_ENTRYPOINT = REPO_ROOT / "broker" / "entrypoint"
BROKER_READY = REPO_ROOT / "broker" / "kafka-ready"
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_BROKER_TAG = re.compile(r"^(?P<version>\d+\.\d+\.\d+)(?:-(?P<suffix>[A-Za-z0-9._-]+))?$")


class ImageNotRunnable(Exception):
    """The runner cannot run this image; `reason` is the container waiting reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class ImagePlan:
    """How to run one image: its ENTRYPOINT/CMD, environment and file layout."""

    image: str
    image_id: str
    entrypoint: list[str]
    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)
    # Paths inside the image -> host paths, applied like volume mounts.
    paths: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageRef:
    repository: str  # without registry, e.g. "kplane/broker", "library/busybox"
    tag: str


def parse(image: str) -> ImageRef:
    """Split a reference into repository (registry dropped) and tag ("latest" by default)."""
    if not image or image != image.strip() or " " in image:
        raise ImageNotRunnable("InvalidImageName", f"invalid image reference {image!r}")
    if "@" in image:
        raise ImageNotRunnable(
            "ImageNotRunnable",
            f"image {image!r} is pinned by digest; the devstack pod runner emulates images by "
            "name and tag only",
        )
    name, tag = image, "latest"
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = image.rsplit(":", 1)
    parts = name.split("/")
    # A first component with a dot or a port, or "localhost", names a registry.
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if len(parts) == 1:
        parts = ["library", *parts]
    return ImageRef("/".join(parts), tag)


_GENERIC: dict[str, list[str]] = {
    "library/busybox": ["sh"],
    "library/debian": ["bash"],
    "library/python": ["python3"],
}


def describe_supported() -> str:
    names = ", ".join(r.removeprefix("library/") for r in _GENERIC)
    return f"kplane/broker:<kafka version> and the generic images {names}"


def resolve(image: str, kafka_home: Callable[[str], Path]) -> ImagePlan:
    """The plan for `image`, or ImageNotRunnable.

    `kafka_home(version)` returns the KAFKA_HOME of a Kafka version (may take minutes the first
    time: Maven resolves the jars) or raises.
    """
    ref = parse(image)
    if ref.repository.endswith("kplane/broker"):
        match = _BROKER_TAG.match(ref.tag)
        if match is None:
            raise ImageNotRunnable(
                "ImageNotRunnable",
                f"image {image!r}: the broker image tag must be <kafka version>[-suffix], "
                f"got {ref.tag!r}",
            )
        version = match["version"]
        try:
            home = kafka_home(version)
        except Exception as exc:  # the message is what the user needs: report it
            raise ImageNotRunnable(
                "ErrImagePull", f"image {image!r}: no Kafka {version} distribution: {exc}"
            ) from exc
        if not BROKER_ENTRYPOINT.exists():
            raise ImageNotRunnable(
                "ErrImagePull", f"image {image!r}: {BROKER_ENTRYPOINT} does not exist"
            )
        return ImagePlan(
            image=image,
            image_id=f"devstack://kplane/broker@kafka-{version}",
            entrypoint=["/opt/kplane/entrypoint"],
            cmd=[],
            env={"PATH": HOST_PATH, "KAFKA_HOME": str(home)},
            paths={
                "/opt/kplane/entrypoint": str(BROKER_ENTRYPOINT),
                "/opt/kplane/kafka-ready": str(BROKER_READY),
                "/opt/kafka": str(home),
            },
        )
    if ref.repository in _GENERIC:
        return ImagePlan(
            image=image,
            image_id=f"devstack://host/{ref.repository.removeprefix('library/')}",
            entrypoint=[],
            cmd=list(_GENERIC[ref.repository]),
            env={"PATH": HOST_PATH},
        )
    raise ImageNotRunnable(
        "ImageNotRunnable",
        f"the devstack pod runner cannot run image {image!r}: it runs {describe_supported()} "
        "(as local processes)",
    )
