"""`kplane clusters ...`: Kafka clusters (create, scale and change through `update`, delete)
and `client-config`, the properties file a Kafka client needs to reach one."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli import output
from cli.client_properties import Dialect, render
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
    TimeoutOpt,
    WaitOpt,
    api,
    cluster_path,
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
from cli.waiting import finish

app = typer.Typer(
    no_args_is_help=True,
    help="Kafka clusters: brokers, controllers, storage, version, broker config.",
)

ClusterArg = Annotated[str, typer.Argument(help="Cluster id.")]
VersionOpt = Annotated[str | None, typer.Option(help="One of `kplane kafka-versions list`.")]
BrokersOpt = Annotated[int | None, typer.Option(help="Brokers (scale out or in).", min=1)]
CpuOpt = Annotated[float | None, typer.Option(help="CPUs per broker.")]
MemoryOpt = Annotated[float | None, typer.Option(help="Memory per broker, GiB.")]
StorageOpt = Annotated[int | None, typer.Option(help="Storage per broker, GiB (may only grow).")]
ConfigOpt = Annotated[
    list[str] | None,
    typer.Option("--config", help="Broker setting KEY=VALUE, repeatable; replaces the map."),
]
WindowOpt = Annotated[
    str | None,
    typer.Option(help="Maintenance window 'DAY HH:MM HOURS' (UTC), e.g. 'SUNDAY 02:00 4'."),
]
ProtectionOpt = Annotated[
    bool | None,
    typer.Option(
        "--deletion-protection/--no-deletion-protection",
        help="Refuse deletes while set.",
        show_default=False,
    ),
]
COLUMNS = [
    Column("CLUSTER", output.short),
    Column("STATE", output.at("state")),
    Column("VERSION", output.at("kafka_version")),
    Column("BROKERS", output.at("broker_count")),
    Column("CONTROLLERS", output.at("controller_count")),
    Column("STORAGE GIB", output.at("storage_gib")),
    Column("RECONCILING", output.at("reconciling")),
    Column("BOOTSTRAP", output.at("bootstrap_servers")),
]


def maintenance_window(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    parts = value.split()
    if len(parts) != 3 or not parts[2].isdigit():
        raise typer.BadParameter("expected 'DAY HH:MM HOURS'", param_hint="--maintenance-window")
    return {
        "day_of_week": parts[0].upper(),
        "start_time": parts[1],
        "duration_hours": int(parts[2]),
    }


def _body(
    from_file: Any,
    *,
    kafka_version: str | None,
    broker_count: int | None,
    cpu: float | None,
    memory_gib: float | None,
    storage_gib: int | None,
    configs: list[str] | None,
    window: str | None,
    deletion_protection: bool | None,
    labels: list[str] | None,
    current: Body | None,
) -> Body:
    """A request body from the file and flags; `--cpu` or `--memory-gib` alone keeps the
    other from `current` (broker_resources is replaced as a whole)."""
    body = read_body(from_file)
    if cpu is not None or memory_gib is not None:
        resources = dict(
            body.get("broker_resources") or (current or {}).get("broker_resources") or {}
        )
        resources.update(
            {k: v for k, v in {"cpu": cpu, "memory_gib": memory_gib}.items() if v is not None}
        )
        body["broker_resources"] = resources
    return set_given(
        body,
        kafka_version=kafka_version,
        broker_count=broker_count,
        storage_gib=storage_gib,
        config=configs and key_values(configs, "--config"),
        maintenance_window=maintenance_window(window),
        deletion_protection=deletion_protection,
        labels=labels and key_values(labels, "--label"),
    )


@app.command(
    epilog=examples(
        "kplane clusters create main --broker-count 3 --controller-count 3 --storage-gib 10",
        "kplane clusters create small --cpu 0.5 --memory-gib 1 --no-wait -o json",
        "kplane clusters create main -f cluster.yaml",
    )
)
def create(
    cluster: ClusterArg,
    kafka_version: VersionOpt = None,
    broker_count: BrokersOpt = None,
    controller_count: Annotated[
        int | None, typer.Option(help="KRaft controllers: 1 or 3 (immutable).")
    ] = None,
    cpu: CpuOpt = None,
    memory_gib: MemoryOpt = None,
    storage_gib: StorageOpt = None,
    configs: ConfigOpt = None,
    maintenance_window: WindowOpt = None,
    deletion_protection: ProtectionOpt = None,
    labels: LabelsOpt = None,
    from_file: FileOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Create a cluster; with --wait (the default) a progress bar follows it to ACTIVE."""
    body = _body(
        from_file,
        kafka_version=kafka_version,
        broker_count=broker_count,
        cpu=cpu,
        memory_gib=memory_gib,
        storage_gib=storage_gib,
        configs=configs,
        window=maintenance_window,
        deletion_protection=deletion_protection,
        labels=labels,
        current=None,
    )
    set_given(body, controller_count=controller_count)
    path = f"/v1/projects/{project_of(project)}/clusters"
    with api() as client:
        op = client.request("POST", path, params={"cluster_id": cluster}, json=body)
        finish(client, op, wait_for_it=wait, timeout=timeout, fmt=fmt, show=output.details)


@app.command(epilog=examples("kplane clusters get main", "kplane clusters get main -o yaml"))
def get(cluster: ClusterArg, project: ProjectOpt = None, fmt: OutputOpt = Format.TABLE) -> None:
    """Show one cluster: desired settings, state, conditions, brokers, bootstrap servers."""
    with api() as client:
        output.emit(client.get(cluster_path(project, cluster)), fmt, output.details)


@app.command(
    "list", epilog=examples("kplane clusters list", "kplane clusters list --filter state=ACTIVE")
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
    """The project's clusters."""
    query = ListQuery(page_size, limit, follow, page_token, filter, order_by)
    path = f"/v1/projects/{project_of(project)}/clusters"
    with api() as client:
        list_resources(client, path, "clusters", query, fmt, COLUMNS)


@app.command(
    epilog=examples(
        "kplane clusters update main --broker-count 5        # scale out",
        "kplane clusters update main --storage-gib 20 --config auto.create.topics.enable=false",
        "kplane clusters update main --kafka-version 3.9.1   # rolling upgrade",
    )
)
def update(
    cluster: ClusterArg,
    kafka_version: VersionOpt = None,
    broker_count: BrokersOpt = None,
    cpu: CpuOpt = None,
    memory_gib: MemoryOpt = None,
    storage_gib: StorageOpt = None,
    configs: ConfigOpt = None,
    maintenance_window: WindowOpt = None,
    deletion_protection: ProtectionOpt = None,
    labels: LabelsOpt = None,
    from_file: FileOpt = None,
    etag: EtagOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Change a cluster (scale, grow storage, upgrade, reconfigure); only the fields given."""
    path = cluster_path(project, cluster)
    with api() as client:
        current = client.get(path)
        body = _body(
            from_file,
            kafka_version=kafka_version,
            broker_count=broker_count,
            cpu=cpu,
            memory_gib=memory_gib,
            storage_gib=storage_gib,
            configs=configs,
            window=maintenance_window,
            deletion_protection=deletion_protection,
            labels=labels,
            current=current,
        )
        params = {"update_mask": update_mask(body), "etag": etag or current["etag"]}
        op = client.request("PATCH", path, params=params, json=body)
        finish(client, op, wait_for_it=wait, timeout=timeout, fmt=fmt, show=output.details)


@app.command(epilog=examples("kplane clusters delete old", "kplane clusters delete old --no-wait"))
def delete(
    cluster: ClusterArg,
    etag: EtagOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Delete a cluster with everything on it (owner token; not while deletion-protected)."""
    path = cluster_path(project, cluster)
    with api() as client:
        op = client.request("DELETE", path, params={"etag": current_etag(client, path, etag)})
        finish(client, op, wait_for_it=wait, timeout=timeout, fmt=fmt)


@app.command(
    "client-config",
    epilog=examples(
        'kplane clusters client-config main --user app --password "$PW" > client.properties',
        "kafka-console-producer.sh --bootstrap-server ... --producer.config client.properties",
        "kplane clusters client-config main --user app --format librdkafka > rdkafka.conf",
        'echo "$PW" | kplane clusters client-config main --user app   # password from stdin',
    ),
)
def client_config(
    cluster: ClusterArg,
    user: Annotated[str, typer.Option("--user", "-u", help="A user of `kplane users list`.")],
    password: Annotated[
        str,
        typer.Option(
            help="The user's password (prompted for, hidden, when not given).",
            prompt=True,
            hide_input=True,
        ),
    ],
    dialect: Annotated[
        Dialect, typer.Option("--format", help="java: Kafka's tools; librdkafka: its keys.")
    ] = Dialect.JAVA,
    project: ProjectOpt = None,
) -> None:
    """Print a client properties file for USER: bootstrap servers and SASL SCRAM-SHA-512."""
    path = cluster_path(project, cluster)
    with api() as client:
        body = client.get(path)
        client.get(f"{path}/users/{user}")  # a user that does not exist is an error, not a file
    servers = str(body.get("bootstrap_servers") or "")
    if not servers:
        output.note(f"cluster {cluster} has no bootstrap servers yet (state {body.get('state')})")
    typer.echo(render(str(body["name"]), servers, user, password, dialect), nl=False)
