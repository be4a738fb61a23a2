"""`kplane login` and `kplane context ...`: named contexts of endpoint, token and project."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import config, output
from cli.client import Client
from cli.common import usage_error
from cli.help import examples
from cli.output import Column

app = typer.Typer(
    no_args_is_help=True, help="Named contexts: which API, as whom, with which default project."
)


def login(
    endpoint: Annotated[str, typer.Option(help="The API's base URL.", prompt=True)],
    token: Annotated[
        str,
        typer.Option(
            help="An admin or project token (prompted for, hidden, when not given).",
            prompt=True,
            hide_input=True,
        ),
    ],
    project: Annotated[str, typer.Option("--project", "-p", help="Default project.")] = "",
    context: Annotated[str, typer.Option(help="Name of the context to write.")] = "",
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Check the token against the API first.")
    ] = True,
) -> None:
    """Store an endpoint and token as a context (0600 file) and make it the current one."""
    endpoint = endpoint.rstrip("/")
    if not endpoint.startswith(("http://", "https://")):
        raise typer.BadParameter("must start with http:// or https://", param_hint="--endpoint")
    if verify:
        with Client(endpoint, token, max_attempts=2) as client:
            if project:
                client.get(f"/v1/projects/{project}")
            else:
                client.get("/v1/kafka_versions")  # any valid token may read it
    try:
        cfg = config.load()
    except config.ConfigError as e:
        usage_error(str(e))
    name = context or cfg.current_context or config.DEFAULT_CONTEXT
    cfg.contexts[name] = config.Context(endpoint, token, project)
    cfg.current_context = name
    path = config.save(cfg)
    output.note(f"logged in to {endpoint} as context {name!r} ({path})")


LOGIN_EPILOG = examples(
    "kplane login --endpoint http://127.0.0.1:8080 --token $TOKEN --project demo",
    "kplane login --context prod --endpoint https://kplane.example.com",
    "KPLANE_TOKEN=... kplane clusters list   # the environment overrides the context",
)


def _load() -> config.Config:
    try:
        return config.load()
    except config.ConfigError as e:
        usage_error(str(e))


@app.command("list", epilog=examples("kplane context list"))
def list_contexts() -> None:
    """The contexts of the config file; `*` marks the current one."""
    cfg = _load()
    rows = [
        {"current": "*" if n == cfg.current_context else "", "name": n, **vars(c)}
        for n, c in sorted(cfg.contexts.items())
    ]
    output.table(
        rows,
        [
            Column("", output.at("current")),
            Column("NAME", output.at("name")),
            Column("ENDPOINT", output.at("endpoint")),
            Column("PROJECT", output.at("project")),
        ],
    )


@app.command("use", epilog=examples("kplane context use prod"))
def use(name: Annotated[str, typer.Argument(help="A context of `kplane context list`.")]) -> None:
    """Make NAME the current context."""
    cfg = _load()
    if name not in cfg.contexts:
        raise typer.BadParameter(f"no context {name!r}", param_hint="NAME")
    cfg.current_context = name
    config.save(cfg)
    output.note(f"current context: {name}")


@app.command("delete", epilog=examples("kplane context delete staging"))
def delete(
    name: Annotated[str, typer.Argument(help="A context of `kplane context list`.")],
) -> None:
    """Forget the context NAME (and its token)."""
    cfg = _load()
    if cfg.contexts.pop(name, None) is None:
        raise typer.BadParameter(f"no context {name!r}", param_hint="NAME")
    if cfg.current_context == name:
        cfg.current_context = ""
    config.save(cfg)
    output.note(f"deleted context {name}")
