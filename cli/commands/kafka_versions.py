"""`kplane kafka-versions list`: the Kafka versions a cluster may run and upgrade to."""

from __future__ import annotations

import typer

from cli import output
from cli.common import OutputOpt, api
from cli.errors import Body
from cli.help import examples
from cli.output import Column, Format

app = typer.Typer(no_args_is_help=True, help="Kafka versions offered for clusters.")

COLUMNS = [
    Column("VERSION", output.at("version")),
    Column("DEFAULT", lambda v: "*" if v.get("default") else ""),
    Column("UPGRADABLE TO", output.at("upgradable_to")),
    Column("METADATA VERSION", output.at("metadata_version")),
]


@app.command(
    "list", epilog=examples("kplane kafka-versions list", "kplane kafka-versions list -o json")
)
def list_(fmt: OutputOpt = Format.TABLE) -> None:
    """Every offered version; `*` marks the default of new clusters."""

    def show(body: Body) -> None:
        output.table(body.get("kafka_versions") or [], COLUMNS)

    with api() as client:
        output.emit(client.get("/v1/kafka_versions"), fmt, show)
