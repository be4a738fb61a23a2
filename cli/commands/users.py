"""`kplane users ...`: SCRAM-SHA-512 users of a cluster (principal `User:NAME`) and their
quotas. A password is printed once: by the `create` or `rotate-password` call that set it."""

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
from cli.waiting import finish

app = typer.Typer(no_args_is_help=True, help="SCRAM users of a cluster and their quotas.")

UserArg = Annotated[str, typer.Argument(help="User name (principal User:NAME).")]
PasswordOpt = Annotated[
    str | None,
    typer.Option(
        help="12-256 characters; when omitted the server generates 32.", show_default=False
    ),
]
ProducerRateOpt = Annotated[int | None, typer.Option(help="Producer quota, bytes/s.")]
ConsumerRateOpt = Annotated[int | None, typer.Option(help="Consumer quota, bytes/s.")]
RequestPercentOpt = Annotated[float | None, typer.Option(help="Request-time quota, percent.")]
COLUMNS = [
    Column("USER", output.short),
    Column("PRINCIPAL", output.at("principal")),
    Column("STATE", output.at("state")),
    Column("QUOTAS", lambda b: {k: v for k, v in (b.get("quotas") or {}).items() if v is not None}),
]


def _body(
    from_file: Path | None,
    producer_byte_rate: int | None,
    consumer_byte_rate: int | None,
    request_percentage: float | None,
    labels: list[str] | None,
    current: Body | None,
) -> Body:
    """Quotas given by flags are merged into the current ones (`quotas` is replaced whole)."""
    body = read_body(from_file)
    given = {
        "producer_byte_rate": producer_byte_rate,
        "consumer_byte_rate": consumer_byte_rate,
        "request_percentage": request_percentage,
    }
    if any(v is not None for v in given.values()):
        quotas = dict(body.get("quotas") or (current or {}).get("quotas") or {})
        quotas.update({k: v for k, v in given.items() if v is not None})
        body["quotas"] = quotas
    return set_given(body, labels=labels and key_values(labels, "--label"))


def _finish_with_password(
    client: Client, op: Body, wait: bool, timeout: float | None, fmt: Format
) -> None:
    """The password is only in this first response; a later read of the Operation lacks it,
    so it is carried over into what is printed."""
    password = op.get("password")

    def show(user: Body) -> None:
        output.details(user)
        if password:
            output.out().print(f"password: {password}", markup=False)
            output.note("the password is shown only now; store it safely")

    if not wait:
        output.emit(op, fmt, lambda b: show(b.get("response") or {"name": b["name"]}))
        if fmt is Format.TABLE:
            output.note(
                f"operation {op['name']} started; follow it: kplane operations wait {op['name']}"
            )
        return
    finish(
        client,
        op,
        wait_for_it=True,
        timeout=timeout,
        fmt=fmt,
        show=show,
        extra={"password": password},
    )


@app.command(
    epilog=examples(
        "kplane users create app -c main                 # a generated password, printed once",
        'kplane users create app -c main --password "$PW" --producer-byte-rate 1048576',
    )
)
def create(
    user: UserArg,
    cluster: ClusterOpt,
    password: PasswordOpt = None,
    producer_byte_rate: ProducerRateOpt = None,
    consumer_byte_rate: ConsumerRateOpt = None,
    request_percentage: RequestPercentOpt = None,
    labels: LabelsOpt = None,
    from_file: FileOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Create a user; its password (given or generated) is printed once."""
    body = _body(
        from_file, producer_byte_rate, consumer_byte_rate, request_percentage, labels, None
    )
    set_given(body, password=password)
    path = f"{cluster_path(project, cluster)}/users"
    with api() as client:
        op = client.request("POST", path, params={"user_id": user}, json=body)
        _finish_with_password(client, op, wait, timeout, fmt)


@app.command(epilog=examples("kplane users get app -c main"))
def get(
    user: UserArg, cluster: ClusterOpt, project: ProjectOpt = None, fmt: OutputOpt = Format.TABLE
) -> None:
    """Show one user (never its password)."""
    with api() as client:
        output.emit(
            client.get(f"{cluster_path(project, cluster)}/users/{user}"), fmt, output.details
        )


@app.command("list", epilog=examples("kplane users list -c main"))
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
    """The cluster's users."""
    query = ListQuery(page_size, limit, follow, page_token, filter, order_by)
    with api() as client:
        list_resources(
            client, f"{cluster_path(project, cluster)}/users", "users", query, fmt, COLUMNS
        )


@app.command(epilog=examples("kplane users update app -c main --consumer-byte-rate 2097152"))
def update(
    user: UserArg,
    cluster: ClusterOpt,
    producer_byte_rate: ProducerRateOpt = None,
    consumer_byte_rate: ConsumerRateOpt = None,
    request_percentage: RequestPercentOpt = None,
    labels: LabelsOpt = None,
    from_file: FileOpt = None,
    etag: EtagOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Change a user's quotas or labels (the password: `rotate-password`)."""
    path = f"{cluster_path(project, cluster)}/users/{user}"
    with api() as client:
        current = client.get(path)
        body = _body(
            from_file, producer_byte_rate, consumer_byte_rate, request_percentage, labels, current
        )
        params = {"update_mask": update_mask(body), "etag": etag or current["etag"]}
        op = client.request("PATCH", path, params=params, json=body)
        finish(client, op, wait_for_it=wait, timeout=timeout, fmt=fmt, show=output.details)


@app.command(epilog=examples("kplane users delete app -c main"))
def delete(
    user: UserArg,
    cluster: ClusterOpt,
    etag: EtagOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Delete a user (its ACL entries stay until removed)."""
    path = f"{cluster_path(project, cluster)}/users/{user}"
    with api() as client:
        op = client.request("DELETE", path, params={"etag": current_etag(client, path, etag)})
        finish(client, op, wait_for_it=wait, timeout=timeout, fmt=fmt)


@app.command(
    "rotate-password",
    epilog=examples(
        "kplane users rotate-password app -c main            # a generated one, printed once",
        'kplane users rotate-password app -c main --password "$NEW"',
    ),
)
def rotate_password(
    user: UserArg,
    cluster: ClusterOpt,
    password: PasswordOpt = None,
    etag: EtagOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Set a new password (given or generated); printed once."""
    path = f"{cluster_path(project, cluster)}/users/{user}:rotatePassword"
    with api() as client:
        op = client.request("POST", path, json=set_given({}, password=password, etag=etag))
        _finish_with_password(client, op, wait, timeout, fmt)
