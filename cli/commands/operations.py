"""`kplane operations ...`: follow, list and cancel long-running Operations."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import output
from cli.common import (
    AllOpt,
    FilterOpt,
    LimitOpt,
    ListQuery,
    OrderByOpt,
    OutputOpt,
    PageSizeOpt,
    PageTokenOpt,
    ProjectOpt,
    TimeoutOpt,
    api,
    list_resources,
    project_of,
)
from cli.errors import Body
from cli.help import examples
from cli.output import Column, Format
from cli.waiting import finish

app = typer.Typer(
    no_args_is_help=True, help="Long-running operations of clusters, topics, ACLs and users."
)

OperationArg = Annotated[
    str, typer.Argument(help="projects/P/operations/ID as printed, or ID with --project.")
]
COLUMNS = [
    Column("OPERATION", output.short),
    Column("VERB", output.at("metadata.verb")),
    Column("TARGET", output.at("metadata.target")),
    Column("DONE", output.at("done")),
    Column("PROGRESS", lambda op: f"{op.get('metadata', {}).get('progress_percent', 0)}%"),
    Column("ERROR", output.at("error.message")),
    Column("CREATED", output.at("metadata.create_time")),
]


def operation_path(operation: str, project: str | None) -> str:
    """The API path of an Operation given by full name or by id."""
    parts = operation.strip("/").split("/")
    if len(parts) == 4 and parts[0] == "projects" and parts[2] == "operations":
        return f"/v1/{'/'.join(parts)}"
    if len(parts) == 1 and parts[0]:
        return f"/v1/projects/{project_of(project)}/operations/{parts[0]}"
    raise typer.BadParameter("expected projects/P/operations/ID or an ID", param_hint="OPERATION")


def show_operation(op: Body) -> None:
    output.details(op)


@app.command(
    epilog=examples(
        "kplane operations get projects/demo/operations/2f0c...",
        "kplane operations get 2f0c... -p demo -o json",
    )
)
def get(operation: OperationArg, project: ProjectOpt = None, fmt: OutputOpt = Format.TABLE) -> None:
    """Show one Operation: done, progress, steps, and its error or response."""
    with api() as client:
        output.emit(client.get(operation_path(operation, project)), fmt, show_operation)


@app.command("list", epilog=examples("kplane operations list -p demo --limit 10"))
def list_(
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
    page_size: PageSizeOpt = 100,
    limit: LimitOpt = None,
    follow: AllOpt = True,
    page_token: PageTokenOpt = "",
    filter: FilterOpt = "",
    order_by: OrderByOpt = "",
) -> None:
    """The project's Operations (kept at least 30 days)."""
    query = ListQuery(page_size, limit, follow, page_token, filter, order_by)
    path = f"/v1/projects/{project_of(project)}/operations"
    with api() as client:
        list_resources(client, path, "operations", query, fmt, COLUMNS)


@app.command(
    epilog=examples(
        "kplane operations wait projects/demo/operations/2f0c...",
        "kplane operations wait 2f0c... -p demo --timeout 600",
    )
)
def wait(
    operation: OperationArg,
    project: ProjectOpt = None,
    timeout: TimeoutOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Follow an Operation with a progress bar until it is done; exit 1 if it failed."""
    with api() as client:
        op = client.get(operation_path(operation, project))
        finish(client, op, wait_for_it=True, timeout=timeout, fmt=fmt, show=output.details)


@app.command(epilog=examples("kplane operations cancel projects/demo/operations/2f0c..."))
def cancel(
    operation: OperationArg, project: ProjectOpt = None, fmt: OutputOpt = Format.TABLE
) -> None:
    """Ask the workers to stop at the next safe step (desired state is not rolled back)."""
    path = operation_path(operation, project)
    with api() as client:
        op = client.request("POST", f"{path}:cancel")
    output.emit(op, fmt, show_operation)
