"""The `kplane` command: the root Typer app, its resource groups, and the exit codes a script
can branch on — 0 success, 1 an API error (its status, reason and message printed), 2 a usage
error (Typer's own, or a missing endpoint/project).

A run builds only the resource group its command line names (`kplane topics apply` imports
`cli.commands.topics` and no other command module): importing and building all eleven groups
cost a third of a short command's CPU. `--help`, completion, and a command line naming no known
group get every group (`make_app()`), so what they print is unchanged.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Collection, Sequence
from typing import Annotated

import typer

from cli import output
from cli.errors import ApiError
from cli.help import examples

EXIT_API_ERROR = 1
# Command name -> module of cli.commands whose `app` is that group, in `--help`'s order.
GROUPS = {
    "context": "login",
    "projects": "projects",
    "tokens": "tokens",
    "clusters": "clusters",
    "topics": "topics",
    "acls": "acls",
    "users": "users",
    "consumer-groups": "consumer_groups",
    "operations": "operations",
    "audit-logs": "audit_logs",
    "kafka-versions": "kafka_versions",
}
# Root options that take a value (what follows them is not a command name).
_VALUED_OPTIONS = ("--context",)


def make_app(groups: Collection[str] | None = None) -> typer.Typer:
    """The root command with `login` and the named groups of GROUPS (None: every one)."""
    app = typer.Typer(
        name="kplane",
        help="The kplane command line: managed Apache Kafka clusters, topics, ACLs and users.",
        rich_markup_mode="markdown",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        epilog=examples(
            "kplane login --endpoint http://127.0.0.1:8080 --project demo",
            "kplane clusters create main --broker-count 3 --controller-count 3",
            "kplane topics create orders -c main --partitions 6",
            "kplane users create app -c main",
            "kplane acls add-entry topic/orders -c main --principal User:app --operation WRITE",
            "kplane clusters client-config main --user app > client.properties",
        ),
    )
    app.callback()(root)
    login = importlib.import_module("cli.commands.login")
    app.command("login", epilog=login.LOGIN_EPILOG)(login.login)
    for name, module in GROUPS.items():
        if groups is None or name in groups:
            app.add_typer(importlib.import_module(f"cli.commands.{module}").app, name=name)
    return app


def root(
    context: Annotated[
        str | None,
        typer.Option(
            "--context", help="A context of `kplane context list` (default: the current one)."
        ),
    ] = None,
) -> None:
    """Every command talks to the API of the chosen context (`kplane login`); KPLANE_ENDPOINT,
    KPLANE_TOKEN and KPLANE_PROJECT override it."""
    if context:
        os.environ["KPLANE_CONTEXT"] = context  # what every command resolves its settings from


def named_group(argv: Sequence[str]) -> str | None:
    """The group a command line runs (`topics` of `kplane --context x topics apply`; `login`
    needs none), or None when it names none of GROUPS (`--help`, a typo: then every group is
    built, and Typer answers exactly as it always did)."""
    args = iter(argv)
    for arg in args:
        if arg in _VALUED_OPTIONS:
            next(args, None)
        elif not arg.startswith("-"):
            return arg if arg in GROUPS or arg == "login" else None
    return None


def main() -> None:
    """The console-script entry point."""
    group = named_group(sys.argv[1:])
    # Shell completion (the words are in the environment, not argv) offers every group.
    completing = "_KPLANE_COMPLETE" in os.environ
    app = make_app(None if group is None or completing else [group])
    try:
        app()
    except ApiError as e:
        output.error(e)
        sys.exit(EXIT_API_ERROR)
