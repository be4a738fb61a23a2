"""The `kplane` command: the root Typer app, its resource groups, and the exit codes a script
can branch on — 0 success, 1 an API error (its status, reason and message printed), 2 a usage
error (Typer's own, or a missing endpoint/project)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from cli import output
from cli.client import ApiError
from cli.commands import (
    acls,
    audit_logs,
    clusters,
    consumer_groups,
    kafka_versions,
    login,
    operations,
    projects,
    tokens,
    topics,
    users,
)
from cli.help import examples

EXIT_API_ERROR = 1

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


@app.callback()
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


app.command("login", epilog=login.LOGIN_EPILOG)(login.login)
app.add_typer(login.app, name="context")
app.add_typer(projects.app, name="projects")
app.add_typer(tokens.app, name="tokens")
app.add_typer(clusters.app, name="clusters")
app.add_typer(topics.app, name="topics")
app.add_typer(acls.app, name="acls")
app.add_typer(users.app, name="users")
app.add_typer(consumer_groups.app, name="consumer-groups")
app.add_typer(operations.app, name="operations")
app.add_typer(audit_logs.app, name="audit-logs")
app.add_typer(kafka_versions.app, name="kafka-versions")


def main() -> None:
    """The console-script entry point."""
    try:
        app()
    except ApiError as e:
        output.error(e)
        sys.exit(EXIT_API_ERROR)
