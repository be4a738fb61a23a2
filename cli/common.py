"""What every command shares: the option types, the API session of the chosen context, body
files and `key=value` flags, etags, and the list and mutation plumbing.

Usage errors (a malformed flag, no endpoint configured) exit with status 2, as Typer's own
do; API errors propagate as `ApiError` to `cli.main`,
which prints them and exits with status 1.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from cli import config, output
from cli.client import Client
from cli.errors import Body
from cli.output import Column, Format

EXIT_USAGE = 2

# --- option types -------------------------------------------------------------------------

ProjectOpt = Annotated[
    str | None,
    typer.Option(
        "--project",
        "-p",
        help="Project id (default: KPLANE_PROJECT, then the context's project).",
        show_default=False,
    ),
]
ClusterOpt = Annotated[str, typer.Option("--cluster", "-c", help="Cluster id.")]
OutputOpt = Annotated[
    Format,
    typer.Option("--output", "-o", help="table for people; json/yaml: the API's body as is."),
]
WaitOpt = Annotated[
    bool,
    typer.Option(
        "--wait/--no-wait",
        help="Follow the Operation with a progress bar until it is done, or return at once.",
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(help="With --wait: give up waiting after this many seconds (exit 1).", min=0),
]
EtagOpt = Annotated[
    str | None,
    typer.Option(help="Only if the resource still has this etag (default: its current one)."),
]
LabelsOpt = Annotated[
    list[str] | None,
    typer.Option("--label", "-l", help="KEY=VALUE, repeatable; replaces the labels."),
]
FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--from-file",
        "-f",
        help="A JSON or YAML body with any writable fields ('-' reads stdin); flags override.",
        show_default=False,
    ),
]
PageSizeOpt = Annotated[int, typer.Option(help="Items per request.", min=1, max=1000)]
LimitOpt = Annotated[
    int | None, typer.Option(help="Stop after this many items.", min=1, show_default=False)
]
AllOpt = Annotated[
    bool,
    typer.Option(
        "--all/--one-page", help="Follow next_page_token to the end, or fetch a single page."
    ),
]
PageTokenOpt = Annotated[str, typer.Option(help="Start at this page token.")]
FilterOpt = Annotated[str, typer.Option(help="e.g. 'state=ACTIVE', 'labels.team=\"x\"'.")]
OrderByOpt = Annotated[str, typer.Option(help="e.g. 'create_time desc'.")]


# --- the session --------------------------------------------------------------------------


def usage_error(message: str) -> NoReturn:
    """Stop with exit status 2, as Typer does for a malformed command line."""
    output.err().print(f"Usage error: {message}", markup=False, style="red")
    raise typer.Exit(EXIT_USAGE)


def settings() -> config.Resolved:
    try:
        return config.resolve()
    except config.ConfigError as e:
        usage_error(str(e))


def api() -> Client:
    """A client of the chosen context's endpoint."""
    resolved = settings()
    if not resolved.endpoint:
        usage_error("no API endpoint: run `kplane login --endpoint URL` or set KPLANE_ENDPOINT")
    return Client(resolved.endpoint, resolved.token)


def project_of(project: str | None) -> str:
    chosen = project or settings().project
    if not chosen:
        usage_error("no project: pass --project, set KPLANE_PROJECT, or `kplane login --project P`")
    return chosen


def cluster_path(project: str | None, cluster: str) -> str:
    return f"/v1/projects/{project_of(project)}/clusters/{cluster}"


# --- bodies -------------------------------------------------------------------------------


def key_values(items: list[str] | None, flag: str) -> dict[str, str]:
    """`["a=1", "b=2"]` -> `{"a": "1", "b": "2"}`; a missing '=' is a usage error."""
    result: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=flag)
        result[key] = value
    return result


def read_body(path: Path | None) -> Body:
    """A request body from a JSON or YAML file ('-' for stdin); nothing means `{}`."""
    if path is None:
        return {}
    # Imported here, not with the module: only a command given -f pays for PyYAML.
    import yaml

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
        # YAML is a superset of JSON; libyaml's loader reads a 1,000-topic file ~10x faster.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        body = yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)
    except (OSError, yaml.YAMLError) as e:
        raise typer.BadParameter(str(e), param_hint="--from-file") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise typer.BadParameter(
            "the file must hold one object (a mapping)", param_hint="--from-file"
        )
    return body


def set_given(body: Body, **fields: Any) -> Body:
    """`body` with every field that was actually given (not None) set, for create and update."""
    body.update({k: v for k, v in fields.items() if v is not None})
    return body


def update_mask(body: Body) -> str:
    """Only the fields this command sets, so a PATCH never touches the others."""
    mask = sorted(k for k in body if k != "etag")
    if not mask:
        usage_error("nothing to update: pass at least one field flag or --from-file")
    return ",".join(mask)


def current_etag(client: Client, path: str, given: str | None) -> str:
    """The etag to send with an update or delete: the given one, else the resource's current
    one (a change made between that read and this write is then refused, not overwritten)."""
    return given or str(client.get(path)["etag"])


# --- lists --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    """The list options every collection takes."""

    page_size: int = 100
    limit: int | None = None
    follow: bool = True
    page_token: str = ""
    filter: str = ""
    order_by: str = ""


def list_resources(
    client: Client,
    path: str,
    key: str,
    query: ListQuery,
    fmt: Format,
    columns: list[Column],
) -> None:
    """Print a collection. With --all (the default) every page is fetched and the body is one
    of the API's own shape holding all items; with --one-page it is the page as returned."""
    params = {
        "page_token": query.page_token or None,
        "filter": query.filter or None,
        "order_by": query.order_by or None,
    }
    if query.follow:
        body = client.collect(path, key, params, query.limit, query.page_size)
    else:
        size = min(query.page_size, query.limit or query.page_size)
        body = client.get(path, {**params, "page_size": size})

    def show(b: Body) -> None:
        output.table(b.get(key) or [], columns)
        if b.get("next_page_token"):
            output.note(f"more: --page-token {b['next_page_token']}")

    output.emit(body, fmt, show)
