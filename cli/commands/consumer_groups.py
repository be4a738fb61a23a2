"""`kplane consumer-groups ...`: consumer groups of a cluster read live from its brokers (state,
members, per-partition committed offsets and lag), their offsets reset, and their deletion —
the last two only while a group is EMPTY, as the brokers say at apply time."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import output
from cli.common import (
    AllOpt,
    ClusterOpt,
    FilterOpt,
    LimitOpt,
    ListQuery,
    OrderByOpt,
    OutputOpt,
    PageSizeOpt,
    PageTokenOpt,
    ProjectOpt,
    TimeoutOpt,
    WaitOpt,
    api,
    cluster_path,
    list_resources,
    set_given,
    usage_error,
)
from cli.errors import Body
from cli.help import examples
from cli.output import Column, Format
from cli.waiting import finish

app = typer.Typer(no_args_is_help=True, help="Consumer groups: members, offsets, lag, resets.")

GroupArg = Annotated[str, typer.Argument(help="The group id.")]
COLUMNS = [
    Column("GROUP", output.at("group_id")),
    Column("STATE", output.at("state")),
    Column("MEMBERS", lambda g: len(g.get("members") or [])),
    Column("TOTAL LAG", output.at("total_lag")),
    Column("MAX LAG", output.at("max_lag")),
    Column("OBSERVED", output.at("observe_time")),
]
OFFSET_COLUMNS = [
    Column("TOPIC", output.at("topic")),
    Column("PARTITION", output.at("partition")),
    Column("COMMITTED", output.at("committed_offset")),
    Column("LOG END", output.at("log_end_offset")),
    Column("LAG", output.at("lag")),
]
RESET_COLUMNS = [
    Column("TOPIC", output.at("topic")),
    Column("PARTITION", output.at("partition")),
    Column("BEFORE", output.at("before")),
    Column("AFTER", output.at("after")),
]


def show_group(group: Body) -> None:
    output.details(group, skip=["offsets", "members"])
    for m in group.get("members") or []:
        parts = ", ".join(f"{p['topic']}-{p['partition']}" for p in m["assigned_partitions"])
        output.out().print(f"member {m['client_id']} {m['host']}: {parts}", markup=False)
    output.table(group.get("offsets") or [], OFFSET_COLUMNS)


def show_reset(body: Body) -> None:
    output.table(body.get("offsets") or [], RESET_COLUMNS)


def _path(project: str | None, cluster: str, group: str = "") -> str:
    base = f"{cluster_path(project, cluster)}/consumer_groups"
    return f"{base}/{group}" if group else base


@app.command(
    "list",
    epilog=examples(
        "kplane consumer-groups list -c main",
        "kplane consumer-groups list -c main --filter 'name = \"app-*\" AND state = EMPTY'",
    ),
)
def list_(
    cluster: ClusterOpt,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
    page_size: PageSizeOpt = 100,
    limit: LimitOpt = None,
    follow: AllOpt = True,
    page_token: PageTokenOpt = "",
    filter: FilterOpt = "",
    order_by: OrderByOpt = "",
) -> None:
    """The cluster's groups with their state and lag, as the brokers report them now."""
    query = ListQuery(page_size, limit, follow, page_token, filter, order_by)
    with api() as client:
        list_resources(client, _path(project, cluster), "consumer_groups", query, fmt, COLUMNS)


@app.command(
    epilog=examples(
        "kplane consumer-groups get app -c main", "kplane consumer-groups get app -c main -o json"
    )
)
def get(
    group: GroupArg, cluster: ClusterOpt, project: ProjectOpt = None, fmt: OutputOpt = Format.TABLE
) -> None:
    """One group: members and their partitions, committed and log-end offsets, lag."""
    with api() as client:
        output.emit(client.get(_path(project, cluster, group)), fmt, show_group)


@app.command(
    "reset-offsets",
    epilog=examples(
        "kplane consumer-groups reset-offsets app -c main --to-earliest --validate-only",
        "kplane consumer-groups reset-offsets app -c main --to-timestamp 2026-12-01T08:00:00Z",
        "kplane consumer-groups reset-offsets app -c main --shift-by -100 --topic orders:0,1",
    ),
)
def reset_offsets(
    group: GroupArg,
    cluster: ClusterOpt,
    to_earliest: Annotated[bool, typer.Option(help="To the log start.")] = False,
    to_latest: Annotated[bool, typer.Option(help="To the log end.")] = False,
    to_timestamp: Annotated[
        str | None, typer.Option(help="RFC 3339: the first offset at or after it.")
    ] = None,
    to_offset: Annotated[int | None, typer.Option(help="This offset (clamped to the log).")] = None,
    shift_by: Annotated[
        int | None, typer.Option(help="Add to the committed offset (< 0 ok).")
    ] = None,
    topics: Annotated[
        list[str] | None,
        typer.Option("--topic", help="TOPIC or TOPIC:P,P..., repeatable (default: all committed)."),
    ] = None,
    validate_only: Annotated[
        bool, typer.Option(help="Print the before/after table; change nothing.")
    ] = False,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Move a group's offsets (refused unless the group is EMPTY: stop its consumers first)."""
    targets = set_given(
        {},
        to_earliest=to_earliest or None,
        to_latest=to_latest or None,
        to_timestamp=to_timestamp,
        to_offset=to_offset,
        shift_by=shift_by,
    )
    if len(targets) != 1:
        usage_error("give exactly one of --to-earliest, --to-latest, --to-timestamp, "
                    "--to-offset, --shift-by")  # fmt: skip
    body: Body = {**targets, "validate_only": validate_only, "topics": []}
    for spec in topics or []:
        name, _, partitions = spec.partition(":")
        try:
            numbers = [int(p) for p in partitions.split(",")] if partitions else []
        except ValueError:
            usage_error(f"--topic {spec!r}: partitions are numbers, e.g. orders:0,1")
        body["topics"].append({"topic": name, "partitions": numbers})
    with api() as client:
        answer = client.request("POST", f"{_path(project, cluster, group)}:resetOffsets", json=body)
        if validate_only:
            output.emit(answer, fmt, show_reset)
            return
        finish(client, answer, wait_for_it=wait, timeout=timeout, fmt=fmt, show=show_reset)


@app.command(epilog=examples("kplane consumer-groups delete old-app -c main"))
def delete(
    group: GroupArg,
    cluster: ClusterOpt,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Delete a group and its committed offsets (only while EMPTY)."""
    with api() as client:
        op = client.request("DELETE", _path(project, cluster, group))
        finish(client, op, wait_for_it=wait, timeout=timeout, fmt=fmt)
