"""`kplane topics ...`: topics of one cluster, one at a time, in a batch, or declaratively from
a file (`apply`: create what is missing through topics:batchCreate, update what differs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli import output
from cli.client import Body, Client
from cli.common import (
    AllOpt,
    ClusterOpt,
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
    TimeoutOpt,
    WaitOpt,
    api,
    cluster_path,
    current_etag,
    key_values,
    list_resources,
    read_body,
    set_given,
    update_mask,
)
from cli.help import examples
from cli.output import Column, Format
from cli.topic_plan import Plan, PlanError, plan, read_file
from cli.waiting import failed, finish, finish_all

app = typer.Typer(no_args_is_help=True, help="Kafka topics of a cluster.")

MAX_BATCH = 1000  # the API's limit of one topics:batchCreate
TopicArg = Annotated[str, typer.Argument(help="Topic name (Kafka's).")]
PartitionsOpt = Annotated[
    int | None, typer.Option("--partitions", help="Partition count (may only grow).", min=1)
]
ReplicationOpt = Annotated[
    int | None, typer.Option(help="Replicas of each partition (immutable).", min=1)
]
ConfigOpt = Annotated[
    list[str] | None,
    typer.Option("--config", help="Topic config KEY=VALUE, repeatable; replaces the map."),
]
COLUMNS = [
    Column("TOPIC", output.short),
    Column("PARTITIONS", output.at("partition_count")),
    Column("REPLICAS", output.at("replication_factor")),
    Column("STATE", output.at("state")),
    Column("CONFIGS", output.at("configs")),
]
OPERATION_COLUMNS = [
    Column("TARGET", output.at("metadata.target")),
    Column("DONE", output.at("done")),
    Column("ERROR", output.at("error.message")),
    Column("OPERATION", output.at("name")),
]


def _body(
    from_file: Path | None,
    partitions: int | None,
    replication_factor: int | None,
    configs: list[str] | None,
    labels: list[str] | None,
) -> Body:
    return set_given(
        read_body(from_file),
        partition_count=partitions,
        replication_factor=replication_factor,
        configs=configs and key_values(configs, "--config"),
        labels=labels and key_values(labels, "--label"),
    )


@app.command(
    epilog=examples(
        "kplane topics create orders -c main --partitions 6 --replication-factor 3",
        "kplane topics create events -c main --config retention.ms=86400000 --no-wait",
    )
)
def create(
    topic: TopicArg,
    cluster: ClusterOpt,
    partitions: PartitionsOpt = None,
    replication_factor: ReplicationOpt = None,
    configs: ConfigOpt = None,
    labels: LabelsOpt = None,
    from_file: FileOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Create a topic; with --wait (the default) until it exists on the brokers."""
    body = _body(from_file, partitions, replication_factor, configs, labels)
    path = f"{cluster_path(project, cluster)}/topics"
    with api() as client:
        op = client.request("POST", path, params={"topic_id": topic}, json=body)
        finish(client, op, wait_for_it=wait, timeout=timeout, fmt=fmt, show=output.details)


@app.command(epilog=examples("kplane topics get orders -c main -o json"))
def get(
    topic: TopicArg, cluster: ClusterOpt, project: ProjectOpt = None, fmt: OutputOpt = Format.TABLE
) -> None:
    """Show one topic."""
    with api() as client:
        output.emit(
            client.get(f"{cluster_path(project, cluster)}/topics/{topic}"), fmt, output.details
        )


@app.command(
    "list",
    epilog=examples("kplane topics list -c main", "kplane topics list -c main --all -o json"),
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
    """The cluster's topics."""
    query = ListQuery(page_size, limit, follow, page_token, filter, order_by)
    with api() as client:
        list_resources(
            client, f"{cluster_path(project, cluster)}/topics", "topics", query, fmt, COLUMNS
        )


@app.command(
    epilog=examples(
        "kplane topics update orders -c main --partitions 12",
        "kplane topics update orders -c main --config retention.ms=3600000",
    )
)
def update(
    topic: TopicArg,
    cluster: ClusterOpt,
    partitions: PartitionsOpt = None,
    configs: ConfigOpt = None,
    labels: LabelsOpt = None,
    from_file: FileOpt = None,
    etag: EtagOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Grow partitions or change configs/labels; only the fields given."""
    body = _body(from_file, partitions, None, configs, labels)
    mask = update_mask(body)
    path = f"{cluster_path(project, cluster)}/topics/{topic}"
    with api() as client:
        params = {"update_mask": mask, "etag": current_etag(client, path, etag)}
        op = client.request("PATCH", path, params=params, json=body)
        finish(client, op, wait_for_it=wait, timeout=timeout, fmt=fmt, show=output.details)


@app.command(epilog=examples("kplane topics delete orders -c main"))
def delete(
    topic: TopicArg,
    cluster: ClusterOpt,
    etag: EtagOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Delete a topic and its data."""
    path = f"{cluster_path(project, cluster)}/topics/{topic}"
    with api() as client:
        op = client.request("DELETE", path, params={"etag": current_etag(client, path, etag)})
        finish(client, op, wait_for_it=wait, timeout=timeout, fmt=fmt)


def _show_operations(body: Body) -> None:
    output.table(body.get("operations") or [], OPERATION_COLUMNS)


def _exit_if_failed(ops: list[Body]) -> None:
    errors = failed(ops)
    for e in errors:
        output.error(e)
    if errors:
        raise typer.Exit(1)


@app.command(
    "batch-create",
    epilog=examples(
        "kplane topics batch-create a b c -c main --partitions 3",
        "kplane topics batch-create -c main -f requests.yaml   # {requests: [{topic_id, topic}]}",
    ),
)
def batch_create(
    cluster: ClusterOpt,
    topics: Annotated[
        list[str] | None, typer.Argument(help="Names; all get the same settings.")
    ] = None,
    partitions: PartitionsOpt = None,
    replication_factor: ReplicationOpt = None,
    configs: ConfigOpt = None,
    labels: LabelsOpt = None,
    from_file: FileOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Create up to 1,000 topics in one call, all or none (topics:batchCreate)."""
    body = read_body(from_file)
    if topics:
        settings = _body(None, partitions, replication_factor, configs, labels)
        body.setdefault("requests", []).extend({"topic_id": t, "topic": settings} for t in topics)
    if not body.get("requests"):
        raise typer.BadParameter(
            "name at least one topic, or pass -f with 'requests:'", param_hint="TOPICS"
        )
    path = f"{cluster_path(project, cluster)}/topics:batchCreate"
    with api() as client:
        result = client.request("POST", path, json=body)
        ops = finish_all(
            client, list(result.get("operations") or []), wait_for_it=wait, timeout=timeout
        )
    output.emit({**result, "operations": ops}, fmt, _show_operations)
    _exit_if_failed(ops)


def _existing(client: Client, path: str) -> dict[str, Body]:
    listed = client.collect(path, "topics", {}, None, 1000)["topics"]
    return {str(t["name"]).rsplit("/", 1)[-1]: t for t in listed}


def _apply(client: Client, path: str, todo: Plan) -> list[Body]:
    """Creates in batches of 1,000, then one PATCH per changed topic with the etag read."""
    ops: list[Body] = []
    for start in range(0, len(todo.creates), MAX_BATCH):
        chunk = todo.creates[start : start + MAX_BATCH]
        requests = [{"topic_id": t.name, "topic": t.fields} for t in chunk]
        result = client.request("POST", f"{path}:batchCreate", json={"requests": requests})
        ops.extend(result.get("operations") or [])
    for u in todo.updates:
        params = {"update_mask": u.mask, "etag": u.etag}
        ops.append(client.request("PATCH", f"{path}/{u.topic}", params=params, json=u.body))
    return ops


def _report(todo: Plan, dry_run: bool) -> Body:
    return {
        "dry_run": dry_run,
        "created": [t.name for t in todo.creates],
        "updated": [
            {
                "topic": u.topic,
                "changes": [
                    {"field": c.path, "before": c.before, "after": c.after} for c in u.changes
                ],
            }
            for u in todo.updates
        ],
        "unchanged": todo.unchanged,
    }


def _show_report(report: Body) -> None:
    would = "would " if report["dry_run"] else ""
    for name in report["created"]:
        output.out().print(f"[green]+ {would}create[/green] {name}", highlight=False)
    for u in report["updated"]:
        output.out().print(f"[yellow]~ {would}update[/yellow] {u['topic']}", highlight=False)
        for c in u["changes"]:
            before = "(unset)" if c["before"] is None else c["before"]
            after = "(unset)" if c["after"] is None else c["after"]
            output.out().print(f"    {c['field']}: {before} -> {after}", markup=False)
    output.note(
        f"{len(report['created'])} to create, {len(report['updated'])} to update, "
        f"{len(report['unchanged'])} unchanged"
        + (" (dry run: nothing changed)" if report["dry_run"] else "")
    )


@app.command(
    epilog=examples(
        "kplane topics apply -f topics.yaml -c main --dry-run",
        "kplane topics apply -f topics.yaml -c main",
        "# topics.yaml:",
        "# topics:",
        "#   - name: orders",
        "#     partition_count: 6",
        "#     replication_factor: 3",
        "#     configs: {retention.ms: 86400000}",
    )
)
def apply(
    file: Annotated[
        Path, typer.Option("--file", "-f", help="YAML/JSON with 'topics:' ('-': stdin).")
    ],
    cluster: Annotated[
        str | None,
        typer.Option("--cluster", "-c", help="Cluster id (default: the file's 'cluster')."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Show the diff; change nothing.")] = False,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Make the cluster's topics match a file: create the missing ones (topics:batchCreate),
    update the fields that differ (PATCH with the etag read), report the diff. Topics that
    are not in the file are left alone; so are fields a topic of the file does not set."""
    try:
        file_cluster, desired = read_file(read_body(file))
    except PlanError as e:
        raise typer.BadParameter(str(e), param_hint="--file") from None
    chosen = cluster or file_cluster
    if not chosen:
        raise typer.BadParameter(
            "pass --cluster or set 'cluster:' in the file", param_hint="--cluster"
        )
    path = f"{cluster_path(project, chosen)}/topics"
    with api() as client:
        todo = plan(desired, _existing(client, path))
        report = _report(todo, dry_run)
        ops = [] if dry_run else _apply(client, path, todo)
        ops = finish_all(client, ops, wait_for_it=wait and bool(ops), timeout=timeout)
    output.emit({**report, "operations": ops}, fmt, _show_report)
    _exit_if_failed(ops)
