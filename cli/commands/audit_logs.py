"""`kplane audit-logs list`: every mutation and denial of a project (owners)."""

from __future__ import annotations

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
    api,
    list_resources,
    project_of,
)
from cli.help import examples
from cli.output import Column, Format

app = typer.Typer(no_args_is_help=True, help="The project's audit log (read-only, owners).")

COLUMNS = [
    Column("TIME", output.at("time")),
    Column("PRINCIPAL", output.at("principal")),
    Column("ACTION", output.at("action")),
    Column("TARGET", output.at("target")),
    Column("CODE", output.at("result_code")),
    Column("MESSAGE", output.at("message")),
]


@app.command(
    "list",
    epilog=examples("kplane audit-logs list -p demo --limit 20", "kplane audit-logs list -o json"),
)
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
    """Audit records, newest first unless --order-by says otherwise."""
    query = ListQuery(page_size, limit, follow, page_token, filter, order_by)
    path = f"/v1/projects/{project_of(project)}/audit_logs"
    with api() as client:
        list_resources(client, path, "audit_logs", query, fmt, COLUMNS)
