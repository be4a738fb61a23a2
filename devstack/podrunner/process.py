"""Running a container's processes, and probe or hook handlers, inside a pod's namespaces.

A container is `ip netns exec <pod netns> unshare --uts -- sh -c 'hostname <pod>; exec "$@"'
<argv>`: each step execs the next, so the PID the runner holds is the container's main process
(PID 1 of a real container), in the pod's network namespace, with the pod's hostname and its
own mount namespace (where `ip netns exec` bind-mounts the pod's /etc/hosts). Each container
leads its own process group, so stopping it reaches the children it spawned.

Probe and lifecycle handlers: exec (inside the pod, with the container's environment),
httpGet and tcpSocket (from the node to the pod's address, as the kubelet does), sleep.
gRPC probes are not implemented and always fail with a message saying so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.podrunner.env import PathMap

JsonDict = dict[str, Any]

IP = shutil.which("ip") or "/usr/sbin/ip"
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"
_HOSTNAME_SHIM = 'hostname "$0" && exec "$@"'


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ExecContext:
    """Where and how a container's commands run."""

    netns: str
    hostname: str
    pod_ip: str
    env: Mapping[str, str]
    cwd: str
    paths: PathMap
    ports: Mapping[str, int]  # named container ports


def in_pod(ctx: ExecContext, argv: list[str]) -> list[str]:
    return [IP, "netns", "exec", ctx.netns, UNSHARE, "--uts", "--", "/bin/sh", "-c",
            _HOSTNAME_SHIM, ctx.hostname, *argv]  # fmt: skip


def find_executable(argv0: str, env: Mapping[str, str]) -> str | None:
    """What the container runtime's exec would run, or None (the StartError case)."""
    if "/" in argv0:
        return argv0 if os.access(argv0, os.X_OK) and os.path.isfile(argv0) else None
    return shutil.which(argv0, path=env.get("PATH", os.defpath))


class ContainerProcess:
    """One running instance of a container."""

    def __init__(self, ctx: ExecContext, argv: list[str], log_path: Path) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(
                in_pod(ctx, argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ctx.cwd,
                env=dict(ctx.env),
                start_new_session=True,
            )
        self.pid = self.popen.pid
        self.started_at = now_rfc3339()
        self.finished_at = ""
        self.kill_deadline: float | None = None  # set while stopping: SIGKILL after it

    def poll(self) -> int | None:
        """The container's exit code once it ended (128+signal when killed by a signal)."""
        rc = self.popen.poll()
        if rc is None:
            return None
        if not self.finished_at:
            self.finished_at = now_rfc3339()
            self._signal_group(signal.SIGKILL)  # the main process is gone: so is the container
        return 128 - rc if rc < 0 else rc

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def begin_stop(self, grace: float) -> None:
        """SIGTERM now; `tick_stop` sends SIGKILL once `grace` seconds have passed."""
        if self.kill_deadline is not None or self.poll() is not None:
            return
        self.kill_deadline = time.monotonic() + max(grace, 0.0)
        self._signal_group(signal.SIGTERM if grace > 0 else signal.SIGKILL)

    def tick_stop(self) -> None:
        deadline = self.kill_deadline
        if deadline is not None and time.monotonic() >= deadline and self.poll() is None:
            self._signal_group(signal.SIGKILL)

    def kill_now(self) -> None:
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)
        self.poll()


def _port(value: int | str, ctx: ExecContext) -> int:
    if isinstance(value, int):
        return value
    if value.isdigit():
        return int(value)
    if value in ctx.ports:
        return ctx.ports[value]
    raise ValueError(f"no container port named {value!r}")


def run_handler(handler: JsonDict, ctx: ExecContext, timeout: float) -> tuple[bool, str]:
    """Run a probe or lifecycle handler; (success, message on failure)."""
    try:
        if "exec" in handler:
            argv = ctx.paths.rewrite_all(list(handler["exec"].get("command", [])))
            if not argv:
                return False, "exec handler without a command"
            try:
                done = subprocess.run(
                    in_pod(ctx, argv),
                    env=dict(ctx.env),
                    cwd=ctx.cwd,
                    capture_output=True,
                    timeout=timeout,
                    check=False,
                    start_new_session=True,
                )
            except subprocess.TimeoutExpired:
                return False, f"command {argv!r} timed out after {timeout:g}s"
            if done.returncode == 0:
                return True, ""
            output = (done.stdout + done.stderr).decode(errors="replace").strip()[-512:]
            return False, f"command {argv!r} exited with {done.returncode}: {output}"
        if "tcpSocket" in handler:
            spec = handler["tcpSocket"]
            host, port = spec.get("host") or ctx.pod_ip, _port(spec["port"], ctx)
            with socket.create_connection((host, port), timeout=timeout):
                return True, ""
        if "httpGet" in handler:
            return _http_get(handler["httpGet"], ctx, timeout)
        if "sleep" in handler:
            time.sleep(min(float(handler["sleep"]["seconds"]), timeout))
            return True, ""
        if "grpc" in handler:
            return False, "gRPC probes are not supported by the devstack pod runner"
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return False, str(exc)
    return False, f"unsupported handler {sorted(handler)}"


def _http_get(spec: JsonDict, ctx: ExecContext, timeout: float) -> tuple[bool, str]:
    host, port = spec.get("host") or ctx.pod_ip, _port(spec["port"], ctx)
    headers = {"User-Agent": "kube-probe/devstack", "Accept": "*/*"}
    for header in spec.get("httpHeaders", []):
        headers[header["name"]] = header["value"]
    connection: http.client.HTTPConnection
    if spec.get("scheme", "HTTP").upper() == "HTTPS":
        # The kubelet does not verify probe certificates either.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", spec.get("path") or "/", headers=headers)
        response = connection.getresponse()
        response.read(10240)
    finally:
        connection.close()
    if 200 <= response.status < 400:
        return True, ""
    return False, f"HTTP probe failed with statuscode: {response.status}"
