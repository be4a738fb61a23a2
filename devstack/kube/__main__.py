"""`python -m devstack.kube`: the local Kubernetes for people (what `make devstack-up` runs).

    python -m devstack.kube build                 build or reuse the cached binaries
    python -m devstack.kube up   [--workdir DIR]  start in the background, print how to use it
    python -m devstack.kube down [--workdir DIR]  stop exactly the processes `up` started
    python -m devstack.kube status [--workdir DIR]
    python -m devstack.kube serve --workdir DIR   run in the foreground until SIGTERM/Ctrl-C

`up` starts `serve` as a detached process that owns the substrate; `down` signals that
process (recorded by PID and start time) and then stops whatever the substrate recorded, so a
crashed `serve` still leaves nothing behind.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from devstack.kube import binaries
from devstack.kube.process import ProcRef
from devstack.kube.substrate import KubeSubstrate, SubstrateError, stop_recorded

DEFAULT_WORKDIR = Path(".run/kube")


def _serve_ref(workdir: Path) -> ProcRef | None:
    try:
        ref = ProcRef.from_json(json.loads((workdir / "serve.json").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None
    return ref if ref.alive() else None


def _usage(workdir: Path) -> str:
    ready = json.loads((workdir / "serve.json").read_text())
    return (
        f"devstack Kubernetes v{ready['kube_version']} is up (apiserver {ready['server']}, "
        f"pod subnet {ready['pod_subnet']}).\n"
        f"  export KUBECONFIG={ready['kubeconfig']}\n"
        f"  export PATH={ready['bin_dir']}:$PATH    # kubectl built from source\n"
        f"  kubectl get pods -A\n"
        f"Pod logs: {workdir.resolve() / 'podrunner' / 'pods'}/<ns>_<pod>_<uid>/logs/\n"
        f"Stop it with: make devstack-down"
    )


def cmd_serve(workdir: Path) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    substrate = KubeSubstrate(workdir)
    me = ProcRef.of(os.getpid())
    assert me is not None
    try:
        substrate.start()
        info = {
            "pid": me.to_json(),
            "server": substrate.server,
            "kubeconfig": str(substrate.kubeconfig_path),
            "bin_dir": str(binaries.bin_dir(substrate.kube_version)),
            "kube_version": substrate.kube_version,
            "pod_subnet": str(substrate.pod_subnet),
        }
        # Written whole, then renamed: whoever waits for the file to exist reads all of it.
        staging = workdir / "serve.json.tmp"
        staging.write_text(json.dumps(info, indent=2))
        staging.replace(workdir / "serve.json")
        print(f"devstack: ready in {workdir}", flush=True)
        stop.wait()
    finally:
        print("devstack: stopping", flush=True)
        substrate.stop()
        (workdir / "serve.json").unlink(missing_ok=True)
    return 0


def cmd_up(workdir: Path, timeout: float) -> int:
    if _serve_ref(workdir) is not None:
        print(_usage(workdir))
        return 0
    binaries.ensure()  # build in the foreground, where its output is seen
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "serve.json").unlink(missing_ok=True)
    log_path = workdir / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devstack.kube", "serve", "--workdir", str(workdir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the terminal and make
        )
    deadline = time.monotonic() + timeout
    while not (workdir / "serve.json").exists():
        if proc.poll() is not None:
            print(f"devstack failed to start; {log_path}:\n{log_path.read_text()}", file=sys.stderr)
            return 1
        if time.monotonic() > deadline:
            print(f"devstack not ready after {timeout:.0f}s; see {log_path}", file=sys.stderr)
            return 1
        time.sleep(0.2)
    print(_usage(workdir))
    return 0


def cmd_down(workdir: Path) -> int:
    ref = _serve_ref(workdir)
    if ref is not None:
        # serve stops its pods (grace periods) and components in order.
        ref.stop(grace=120.0)
    leftovers = stop_recorded(workdir)
    (workdir / "serve.json").unlink(missing_ok=True)
    if ref is None and not leftovers:
        print(f"devstack: nothing running in {workdir}")
    else:
        extra = f" (and stray pids {leftovers})" if leftovers else ""
        print(f"devstack: stopped{extra}")
    return 0


def cmd_status(workdir: Path) -> int:
    if _serve_ref(workdir) is None:
        print(f"devstack: not running in {workdir}")
        return 1
    print(_usage(workdir))
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.kube",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["build", "up", "down", "status", "serve"])
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds `up` waits")
    args = parser.parse_args(argv)
    workdir: Path = args.workdir.resolve()
    try:
        if args.command == "build":
            print(binaries.ensure().bin_dir)
            return 0
        if args.command == "serve":
            return cmd_serve(workdir)
        if args.command == "up":
            return cmd_up(workdir, args.timeout)
        if args.command == "down":
            return cmd_down(workdir)
        return cmd_status(workdir)
    except SubstrateError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
