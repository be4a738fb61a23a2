"""Exact process identities: a PID plus its start time, so a recorded process is never confused
with an unrelated one that later reuses the PID.

The devstack records every process it starts this way (in the workdir's state file) and stops
only those, which is what lets a later run clean up after a crashed one without touching
anything else on the machine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may contain spaces; split after it.
    return raw[raw.rindex(")") + 2 :].split()


@dataclass(frozen=True)
class ProcRef:
    """A process as (pid, start time in clock ticks since boot)."""

    pid: int
    start_time: int

    @classmethod
    def of(cls, pid: int) -> ProcRef | None:
        fields = _stat_fields(pid)
        if fields is None:
            return None
        return cls(pid, int(fields[19]))  # field 22 of /proc/pid/stat

    def alive(self) -> bool:
        """True while this very process exists and is not a zombie."""
        fields = _stat_fields(self.pid)
        if fields is None or int(fields[19]) != self.start_time:
            return False
        if fields[0] == "Z":
            # Reap it when it is our child, so it disappears from /proc.
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, os.WNOHANG)
            return False
        return True

    def signal(self, sig: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def wait_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self, grace: float) -> None:
        """SIGTERM, wait up to `grace` seconds, then SIGKILL and wait for it to be gone."""
        if not self.alive():
            return
        self.signal(signal.SIGTERM)
        if self.wait_gone(grace):
            return
        self.signal(signal.SIGKILL)
        if not self.wait_gone(10.0):
            raise RuntimeError(f"process {self.pid} survived SIGKILL")

    def to_json(self) -> list[int]:
        return [self.pid, self.start_time]

    @classmethod
    def from_json(cls, value: list[int]) -> ProcRef:
        return cls(int(value[0]), int(value[1]))


def processes_in_netns(netns_file: Path) -> list[ProcRef]:
    """Every process whose network namespace is the one bound at `netns_file`.

    This is what `ip netns pids` does; done here to avoid a subprocess per pod.
    """
    try:
        target = netns_file.stat()
    except FileNotFoundError:
        return []
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry.name}/ns/net")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if st.st_ino == target.st_ino and st.st_dev == target.st_dev:
            ref = ProcRef.of(int(entry.name))
            if ref is not None and ref.alive():
                found.append(ref)
    return found
