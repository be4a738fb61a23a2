"""`python -m devstack.podrunner --config <file>`: run the devstack node until SIGTERM.

The substrate writes the config file (apiserver address, token, node name, network) and
starts this process; see devstack/podrunner/runner.py.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from devstack.podrunner.runner import PodRunner, RunnerConfig, install_signal_handlers


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.podrunner", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="JSON written by the substrate")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s",
        stream=sys.stdout,
    )
    try:
        config = RunnerConfig.load(args.config)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        parser.error(f"cannot read {args.config}: {exc}")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    runner = PodRunner(config)
    install_signal_handlers(runner.request_stop)
    runner.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
