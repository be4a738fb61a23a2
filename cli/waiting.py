"""Following long-running Operations: a Rich progress bar from `metadata.progress_percent` and
`metadata.steps` (a BLOCKED step shows as `blocked: <reason>`), plain progress lines when
stderr is not a terminal, and what a mutation prints with `--wait` or `--no-wait`.

Ctrl-C stops only the waiting: the Operation goes on on the server, and the CLI prints the
command that follows it again.

Rich's progress is imported only when something is waited for (`--no-wait`, and a script's
`-o json` of a command that returns at once, do not pay for it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from cli import output
from cli.errors import ApiError, Body
from cli.output import Format

if TYPE_CHECKING:
    from cli.client import Client

POLL_SECONDS = 1  # each GET long-polls this long: the bar moves about once a second
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Status:
    """What the bar shows of one read of an Operation."""

    percent: int
    title: str
    step: str


def status_of(op: Body) -> Status:
    meta = op.get("metadata") or {}
    steps = meta.get("steps") or []
    blocked = [s for s in steps if s.get("state") == "BLOCKED"]
    running = [s for s in steps if s.get("state") == "RUNNING"]
    status_message = str(meta.get("status_message") or "")
    if blocked:
        reason = blocked[0].get("message") or status_message or blocked[0].get("name")
        step = f"blocked: {reason}"
    elif running:
        current = running[0]
        step = str(current.get("name"))
        if current.get("message"):
            step += f": {current['message']}"
    else:
        step = status_message
    if op.get("done"):
        step = "failed" if op.get("error") else "done"
    title = f"{meta.get('verb', '')} {meta.get('target', '')}".strip() or str(op.get("name"))
    return Status(int(meta.get("progress_percent") or 0), title, step)


class WaitTimeout(Exception):
    """The Operation was not done within `--timeout`."""


def wait(client: Client, op: Body, timeout: float | None) -> Body:
    """Poll until done (long-polling GETs) with progress on stderr; the last read is returned."""
    deadline = None if timeout is None else time.monotonic() + timeout
    path = f"/v1/{op['name']}"

    def poll() -> Body:
        if deadline is not None and time.monotonic() >= deadline:
            raise WaitTimeout(op["name"])
        return client.get(path, {"wait_seconds": POLL_SECONDS})

    if output.err().is_terminal:
        return _with_bar(op, poll)
    return _with_lines(op, poll)


def _with_bar(op: Body, poll: Callable[[], Body]) -> Body:
    from rich.progress import (  # lazily: see the module's docstring
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[step]}"),
    )
    with Progress(*columns, console=output.err(), transient=False) as bar:
        status = status_of(op)
        task = bar.add_task(status.title, total=100, completed=status.percent, step=status.step)
        while not op.get("done"):
            op = poll()
            status = status_of(op)
            bar.update(task, completed=status.percent, step=status.step)
        if not op.get("error"):
            bar.update(task, completed=100)
    return op


def _with_lines(op: Body, poll: Callable[[], Body]) -> Body:
    last: Status | None = None
    while True:
        status = status_of(op)
        if status != last:
            output.note(f"[{status.percent:3d}%] {status.title}: {status.step}".rstrip(": "))
            last = status
        if op.get("done"):
            return op
        op = poll()


def finish(
    client: Client,
    op: Body,
    *,
    wait_for_it: bool,
    timeout: float | None,
    fmt: Format,
    show: Callable[[Body], None] | None = None,
    extra: Body | None = None,
) -> None:
    """Print what a mutation returned. With --no-wait: the Operation as the API returned it.
    With --wait: the last read of the Operation once done (json/yaml), plus the `extra` fields
    of the first response that a later read lacks (a password), or its response through
    `show` (tables); a failed Operation exits 1 with its error."""
    name = str(op["name"])
    follow_hint = f"kplane operations wait {name}"
    if not wait_for_it:
        output.emit(
            op, fmt, lambda b: output.note(f"operation {name} started; follow it: {follow_hint}")
        )
        return
    try:
        op = wait(client, op, timeout)
    except KeyboardInterrupt:
        output.note(f"\ninterrupted; the operation keeps running. Follow it: {follow_hint}")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except WaitTimeout:
        output.note(f"operation {name} is not done after {timeout:g}s; follow it: {follow_hint}")
        raise typer.Exit(1) from None
    error = op.get("error")
    if fmt is not Format.TABLE:
        kept = {k: v for k, v in (extra or {}).items() if v is not None}
        output.emit({**op, **kept}, fmt, lambda b: None)
    elif show is not None and isinstance(op.get("response"), dict):
        show(op["response"])
    if isinstance(error, dict):
        output.error(ApiError.from_body(int(error.get("code") or 0), {"error": error}, name))
        raise typer.Exit(1)


def wait_all(client: Client, ops: list[Body], timeout: float | None) -> list[Body]:
    """Follow many Operations (a batch create, an apply) until every one is done, with one
    bar counting them; the last read of each is returned, in the given order."""
    from rich.progress import (  # lazily: see the module's docstring
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    deadline = None if timeout is None else time.monotonic() + timeout
    latest = list(ops)
    pending = [i for i, op in enumerate(latest) if not op.get("done")]
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=output.err(),
        disable=not output.err().is_terminal,
    ) as bar:
        task = bar.add_task("operations", total=len(latest), completed=len(latest) - len(pending))
        while pending:
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(f"{len(pending)} operations")
            still: list[int] = []
            for i in pending:
                # Only the first pending one long-polls; the others are read as they are.
                seconds = POLL_SECONDS if not still else 0
                latest[i] = client.get(f"/v1/{latest[i]['name']}", {"wait_seconds": seconds})
                if not latest[i].get("done"):
                    still.append(i)
            bar.update(task, completed=len(latest) - len(still))
            pending = still
    return latest


def finish_all(
    client: Client, ops: list[Body], *, wait_for_it: bool, timeout: float | None
) -> list[Body]:
    """`wait_all` with --wait (Ctrl-C and --timeout as for one Operation), else `ops`; exits 1
    after printing every error when one of them failed."""
    if not wait_for_it:
        return ops
    try:
        ops = wait_all(client, ops, timeout)
    except KeyboardInterrupt:
        output.note("\ninterrupted; the operations keep running (kplane operations list)")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except WaitTimeout as e:
        output.note(f"{e} not done after {timeout:g}s (kplane operations list)")
        raise typer.Exit(1) from None
    return ops


def failed(ops: list[Body]) -> list[ApiError]:
    """The errors of the failed ones among `ops`, named after their target."""
    errors = []
    for op in ops:
        error = op.get("error")
        if isinstance(error, dict):
            target = (op.get("metadata") or {}).get("target", op.get("name"))
            errors.append(
                ApiError.from_body(int(error.get("code") or 0), {"error": error}, str(target))
            )
    return errors
