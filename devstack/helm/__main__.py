"""`python -m devstack.helm {path,snapshot,check}`: the make targets of the Helm chart.

- path: build helm if needed and print its path (for `export PATH=...`);
- snapshot: write broker/versions.json's default into values.yaml, then render every CI
  rendering into helm/kplane/snapshots/ — review the diff and commit it;
- check: exit 1 with a diff when values.yaml or a snapshot is stale.
"""

from __future__ import annotations

import argparse
import sys

from devstack import helm


def _check() -> int:
    stale = 0
    if helm.synced_values_text() != helm.VALUES_FILE.read_text():
        print(
            f"{helm.VALUES_FILE.relative_to(helm.REPO_ROOT)}: brokerImage.tag is not broker/"
            f"versions.json's default {helm.broker_default_version()!r}"
        )
        stale += 1
    for rendering in helm.RENDERINGS:
        diff = helm.snapshot_drift(rendering)
        if diff:
            print(diff, end="")
            stale += 1
    if stale:
        print("the chart's rendering drifted: run `make helm-snapshot`, review and commit")
        return 1
    print("helm snapshots are up to date")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.helm", description=__doc__)
    parser.add_argument("command", choices=["path", "snapshot", "check"])
    args = parser.parse_args(argv)
    try:
        if args.command == "path":
            print(helm.ensure())
            return 0
        if args.command == "snapshot":
            if helm.sync_values():
                print(f"updated {helm.VALUES_FILE.relative_to(helm.REPO_ROOT)}")
            for path in helm.write_snapshots():
                print(f"wrote {path.relative_to(helm.REPO_ROOT)}")
            return 0
        return _check()
    except (helm.HelmError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
