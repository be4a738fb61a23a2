"""`kplane tokens ...`: project API tokens; the secret is printed once, by `create`."""

from __future__ import annotations

import enum
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
    ProjectOpt,
    api,
    current_etag,
    key_values,
    list_resources,
    project_of,
    read_body,
    set_given,
    update_mask,
)
from cli.errors import Body
from cli.help import examples
from cli.output import Column, Format

app = typer.Typer(
    no_args_is_help=True,
    help="Project tokens: viewer, editor or owner; only their hashes are stored.",
)


class Role(enum.StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    OWNER = "owner"


TokenArg = Annotated[str, typer.Argument(help="Token id.")]
COLUMNS = [
    Column("TOKEN", output.short),
    Column("ROLE", output.at("role")),
    Column("LABELS", output.at("labels")),
    Column("CREATED", output.at("create_time")),
]


def _path(project: str | None, token: str = "") -> str:
    base = f"/v1/projects/{project_of(project)}/tokens"
    return f"{base}/{token}" if token else base


def _show_created(body: Body) -> None:
    output.details(body, skip=["secret"])
    output.out().print(f"secret: {body.get('secret')}", markup=False)
    output.note("the secret is shown only now; store it safely")


@app.command(epilog=examples("kplane tokens create ci --role editor -p demo"))
def create(
    token: TokenArg,
    role: Annotated[Role | None, typer.Option(help="What the token may do.")] = None,
    labels: LabelsOpt = None,
    from_file: FileOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Create a token; its secret is in this response only."""
    body = set_given(
        read_body(from_file),
        role=role and role.value,
        labels=labels and key_values(labels, "--label"),
    )
    with api() as client:
        created = client.request("POST", _path(project), params={"token_id": token}, json=body)
    output.emit(created, fmt, _show_created)


@app.command(epilog=examples("kplane tokens get ci -p demo"))
def get(token: TokenArg, project: ProjectOpt = None, fmt: OutputOpt = Format.TABLE) -> None:
    """Show one token (never its secret)."""
    with api() as client:
        output.emit(client.get(_path(project, token)), fmt, output.details)


@app.command("list", epilog=examples("kplane tokens list -p demo"))
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
    """The project's tokens."""
    query = ListQuery(page_size, limit, follow, page_token, filter, order_by)
    with api() as client:
        list_resources(client, _path(project), "tokens", query, fmt, COLUMNS)


@app.command(epilog=examples("kplane tokens update ci --role viewer -p demo"))
def update(
    token: TokenArg,
    role: Annotated[Role | None, typer.Option(help="What the token may do.")] = None,
    labels: LabelsOpt = None,
    from_file: FileOpt = None,
    etag: EtagOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Change a token's role or labels."""
    body = set_given(
        read_body(from_file),
        role=role and role.value,
        labels=labels and key_values(labels, "--label"),
    )
    mask = update_mask(body)
    path = _path(project, token)
    with api() as client:
        tag = current_etag(client, path, etag)
        updated = client.request(
            "PATCH", path, params={"update_mask": mask, "etag": tag}, json=body
        )
    output.emit(updated, fmt, output.details)


@app.command(epilog=examples("kplane tokens delete ci -p demo"))
def delete(
    token: TokenArg, etag: EtagOpt = None, project: ProjectOpt = None, fmt: OutputOpt = Format.TABLE
) -> None:
    """Revoke a token."""
    path = _path(project, token)
    with api() as client:
        body = client.request("DELETE", path, params={"etag": current_etag(client, path, etag)})
    output.emit(body, fmt, lambda b: output.note(f"deleted token {token}"))
