"""`kplane acls ...`: ACLs of a cluster, one per resource pattern (`topic/orders`,
`topicPrefixed/app.`, `consumerGroup/g`, `cluster`, ...), each holding many entries.
`add-entry` / `remove-entry` change one entry without replacing the list."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from cli import output
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
from cli.errors import Body
from cli.help import examples
from cli.output import Column, Format
from cli.waiting import finish

app = typer.Typer(
    no_args_is_help=True,
    help="ACLs: who may do what on a topic, group, transactional id or the cluster.",
)


class Operation(enum.StrEnum):
    READ = "READ"
    WRITE = "WRITE"
    CREATE = "CREATE"
    DELETE = "DELETE"
    ALTER = "ALTER"
    DESCRIBE = "DESCRIBE"
    CLUSTER_ACTION = "CLUSTER_ACTION"
    DESCRIBE_CONFIGS = "DESCRIBE_CONFIGS"
    ALTER_CONFIGS = "ALTER_CONFIGS"
    IDEMPOTENT_WRITE = "IDEMPOTENT_WRITE"
    ALL = "ALL"


class Permission(enum.StrEnum):
    ALLOW = "ALLOW"
    DENY = "DENY"


AclArg = Annotated[
    str,
    typer.Argument(
        help="The pattern: cluster, topic/NAME, topicPrefixed/PREFIX, consumerGroup/NAME, ..."
    ),
]
EntriesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--entry",
        "-e",
        help="User:NAME:OPERATION[:ALLOW|DENY[:HOST]], repeatable; replaces the entries.",
    ),
]
PrincipalOpt = Annotated[str, typer.Option(help="User:NAME (or User:*).")]
OperationOpt = Annotated[Operation, typer.Option(help="The operation allowed or denied.")]
PermissionOpt = Annotated[Permission, typer.Option(help="ALLOW or DENY.")]
HostOpt = Annotated[str, typer.Option(help="'*' or one IP address.")]
COLUMNS = [
    Column("ACL", lambda b: str(b.get("name", "")).split("/acls/", 1)[-1]),
    Column("STATE", output.at("state")),
    Column(
        "ENTRIES",
        lambda b: "; ".join(
            f"{e['permission_type']} {e['principal']} {e['operation']}"
            + ("" if e.get("host", "*") == "*" else f" from {e['host']}")
            for e in b.get("acl_entries") or []
        ),
    ),
]


def parse_entry(spec: str) -> Body:
    """`User:alice:READ`, `User:alice:WRITE:DENY` or `User:alice:READ:ALLOW:10.0.0.1` -> entry."""
    parts = spec.split(":")
    if len(parts) < 3 or not parts[0] or not parts[1]:
        raise typer.BadParameter(
            f"expected User:NAME:OPERATION[:ALLOW|DENY[:HOST]], got {spec!r}", param_hint="--entry"
        )
    operation = parts[2].upper()
    if operation not in Operation.__members__:
        raise typer.BadParameter(f"unknown operation {parts[2]!r}", param_hint="--entry")
    entry: Body = {"principal": f"{parts[0]}:{parts[1]}", "operation": operation}
    entry["permission_type"] = parts[3].upper() if len(parts) > 3 and parts[3] else "ALLOW"
    if entry["permission_type"] not in Permission.__members__:
        raise typer.BadParameter(f"expected ALLOW or DENY, got {parts[3]!r}", param_hint="--entry")
    entry["host"] = ":".join(parts[4:]) or "*"  # an IPv6 host keeps its colons
    return entry


def _body(from_file: Path | None, entries: list[str] | None, labels: list[str] | None) -> Body:
    return set_given(
        read_body(from_file),
        acl_entries=None if entries is None else [parse_entry(e) for e in entries],
        labels=labels and key_values(labels, "--label"),
    )


@app.command(
    epilog=examples(
        "kplane acls create topic/orders -c main -e User:app:READ -e User:app:DESCRIBE",
        "kplane acls create consumerGroupPrefixed/app- -c main -e User:app:READ",
    )
)
def create(
    acl: AclArg,
    cluster: ClusterOpt,
    entries: EntriesOpt = None,
    labels: LabelsOpt = None,
    from_file: FileOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Create the ACL of one resource pattern with its entries."""
    body = _body(from_file, entries, labels)
    path = f"{cluster_path(project, cluster)}/acls"
    with api() as client:
        op = client.request("POST", path, params={"acl_id": acl}, json=body)
        finish(client, op, wait_for_it=wait, timeout=timeout, fmt=fmt, show=output.details)


@app.command(epilog=examples("kplane acls get topic/orders -c main"))
def get(
    acl: AclArg, cluster: ClusterOpt, project: ProjectOpt = None, fmt: OutputOpt = Format.TABLE
) -> None:
    """Show one ACL and its entries."""
    with api() as client:
        output.emit(client.get(f"{cluster_path(project, cluster)}/acls/{acl}"), fmt, output.details)


@app.command("list", epilog=examples("kplane acls list -c main"))
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
    """The cluster's ACLs."""
    query = ListQuery(page_size, limit, follow, page_token, filter, order_by)
    with api() as client:
        list_resources(
            client, f"{cluster_path(project, cluster)}/acls", "acls", query, fmt, COLUMNS
        )


@app.command(
    epilog=examples("kplane acls update topic/orders -c main -e User:app:READ -e User:ops:ALL")
)
def update(
    acl: AclArg,
    cluster: ClusterOpt,
    entries: EntriesOpt = None,
    labels: LabelsOpt = None,
    from_file: FileOpt = None,
    etag: EtagOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Replace an ACL's entries (or labels), with its current etag."""
    body = _body(from_file, entries, labels)
    mask = update_mask(body)
    path = f"{cluster_path(project, cluster)}/acls/{acl}"
    with api() as client:
        params = {"update_mask": mask, "etag": current_etag(client, path, etag)}
        op = client.request("PATCH", path, params=params, json=body)
        finish(client, op, wait_for_it=wait, timeout=timeout, fmt=fmt, show=output.details)


@app.command(epilog=examples("kplane acls delete topic/orders -c main"))
def delete(
    acl: AclArg,
    cluster: ClusterOpt,
    etag: EtagOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Delete an ACL with all its entries."""
    path = f"{cluster_path(project, cluster)}/acls/{acl}"
    with api() as client:
        op = client.request("DELETE", path, params={"etag": current_etag(client, path, etag)})
        finish(client, op, wait_for_it=wait, timeout=timeout, fmt=fmt)


def _entry_verb(
    verb: str,
    acl: str,
    cluster: str,
    entry: Body,
    wait: bool,
    timeout: float | None,
    project: str | None,
    fmt: Format,
) -> None:
    path = f"{cluster_path(project, cluster)}/acls/{acl}:{verb}"
    with api() as client:
        op = client.request("POST", path, json=entry)
        finish(client, op, wait_for_it=wait, timeout=timeout, fmt=fmt, show=output.details)


@app.command(
    "add-entry",
    epilog=examples(
        "kplane acls add-entry topic/orders -c main --principal User:app --operation WRITE",
        "kplane acls add-entry cluster -c main --principal User:ops --operation DESCRIBE",
    ),
)
def add_entry(
    acl: AclArg,
    cluster: ClusterOpt,
    principal: PrincipalOpt,
    operation: OperationOpt,
    permission: PermissionOpt = Permission.ALLOW,
    host: HostOpt = "*",
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Add one entry (creating the ACL if it does not exist)."""
    entry = {
        "principal": principal,
        "operation": operation.value,
        "permission_type": permission.value,
        "host": host,
    }
    _entry_verb("addAclEntry", acl, cluster, entry, wait, timeout, project, fmt)


@app.command(
    "remove-entry",
    epilog=examples(
        "kplane acls remove-entry topic/orders -c main --principal User:app --operation WRITE"
    ),
)
def remove_entry(
    acl: AclArg,
    cluster: ClusterOpt,
    principal: PrincipalOpt,
    operation: OperationOpt,
    permission: PermissionOpt = Permission.ALLOW,
    host: HostOpt = "*",
    wait: WaitOpt = True,
    timeout: TimeoutOpt = None,
    project: ProjectOpt = None,
    fmt: OutputOpt = Format.TABLE,
) -> None:
    """Remove one entry (removing the last one deletes the ACL)."""
    entry = {
        "principal": principal,
        "operation": operation.value,
        "permission_type": permission.value,
        "host": host,
    }
    _entry_verb("removeAclEntry", acl, cluster, entry, wait, timeout, project, fmt)
