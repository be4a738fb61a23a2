"""`kplane projects ...`: the tenancy boundary (created synchronously, by an admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import output
from cli.common import (
    AllOpt,
    EtagOpt,
    FileOpt,
    FilterOpt,
    LabelsOpt,
    LimitOpt,
    ListQuery,
    OrderByOpt,
    OutputOpt,
    PageSizeOpt,
    PageTokenOpt,
    api,
    current_etag,
    key_values,
    list_resources,
    read_body,
    set_given,
    update_mask,
)
from cli.help import examples
from cli.output import Column, Format

app = typer.Typer(
    no_args_is_help=True, help="Projects: each holds clusters, tokens and an audit log."
)

ProjectArg = Annotated[str, typer.Argument(help="Project id.")]
DisplayNameOpt = Annotated[str | None, typer.Option(help="A human-readable name.")]
COLUMNS = [
    Column("PROJECT", output.short),
    Column("DISPLAY NAME", output.at("display_name")),
    Column("LABELS", output.at("labels")),
    Column("CREATED", output.at("create_time")),
]


@app.command(epilog=examples("kplane projects create demo --display-name 'Demo team'"))
def create(
    project: ProjectArg,
    display_name: DisplayNameOpt = None,
    labels: LabelsOpt = None,
    from_file: FileOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Create a project (admin token)."""
    body = set_given(
        read_body(from_file),
        display_name=display_name,
        labels=labels and key_values(labels, "--label"),
    )
    with api() as client:
        created = client.request("POST", "/v1/projects", params={"project_id": project}, json=body)
    output.emit(created, fmt, output.details)


@app.command(epilog=examples("kplane projects get demo", "kplane projects get demo -o json"))
def get(project: ProjectArg, fmt: OutputOpt = Format.TABLE) -> None:
    """Show one project."""
    with api() as client:
        output.emit(client.get(f"/v1/projects/{project}"), fmt, output.details)


@app.command("list", epilog=examples("kplane projects list", "kplane projects list --limit 10"))
def list_(
    fmt: OutputOpt = Format.TABLE,
    page_size: PageSizeOpt = 100,
    limit: LimitOpt = None,
    follow: AllOpt = True,
    page_token: PageTokenOpt = "",
    filter: FilterOpt = "",
    order_by: OrderByOpt = "",
) -> None:
    """The projects this token can see."""
    query = ListQuery(page_size, limit, follow, page_token, filter, order_by)
    with api() as client:
        list_resources(client, "/v1/projects", "projects", query, fmt, COLUMNS)


@app.command(epilog=examples("kplane projects update demo --display-name Demo --label team=data"))
def update(
    project: ProjectArg,
    display_name: DisplayNameOpt = None,
    labels: LabelsOpt = None,
    from_file: FileOpt = None,
    etag: EtagOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Change a project's display name or labels."""
    body = set_given(
        read_body(from_file),
        display_name=display_name,
        labels=labels and key_values(labels, "--label"),
    )
    mask = update_mask(body)
    path = f"/v1/projects/{project}"
    with api() as client:
        tag = current_etag(client, path, etag)
        updated = client.request(
            "PATCH", path, params={"update_mask": mask, "etag": tag}, json=body
        )
    output.emit(updated, fmt, output.details)


@app.command(epilog=examples("kplane projects delete demo"))
def delete(project: ProjectArg, etag: EtagOpt = None, fmt: OutputOpt = Format.TABLE) -> None:
    """Delete a project (it must hold no clusters)."""
    path = f"/v1/projects/{project}"
    with api() as client:
        body = client.request("DELETE", path, params={"etag": current_etag(client, path, etag)})
    output.emit(body, fmt, lambda b: output.note(f"deleted project {project}"))
