"""Everything the CLI prints: tables for people, or the API's bodies unchanged as JSON/YAML for
scripts (`--output json|yaml`), and errors on stderr.

Data goes to stdout and nothing else does: messages, hints and progress go to stderr, so
`kplane ... -o json | jq` always sees exactly one document.

Rich and PyYAML are imported by the functions that print with them, not with this module:
`-o json` (what scripts and the 1,000-topic `topics apply` ask for) then never pays their
~50 ms of import (docs/cli.md, "Start-up").
"""

from __future__ import annotations

import enum
import functools
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from cli.errors import ApiError

if TYPE_CHECKING:
    from rich.console import Console

Body = dict[str, Any]


class Format(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


@functools.cache
def _console(stderr: bool) -> Console:
    from rich.console import Console  # lazily: see the module's docstring

    stream = sys.stderr if stderr else sys.stdout
    # A table piped to a file keeps its rows on one line instead of folding at 80 columns.
    width = None if stream.isatty() else int(os.environ.get("COLUMNS") or 200)
    return Console(file=stream, highlight=False, width=width, soft_wrap=False)


def out() -> Console:
    """The console of stdout (data: tables, reports)."""
    return _console(stderr=False)


def err() -> Console:
    """The console of stderr (messages, hints, progress)."""
    return _console(stderr=True)


@dataclass(frozen=True)
class Column:
    """One column of a table: its header and how to read its cell from a body."""

    header: str
    value: Callable[[Body], object]


def at(path: str) -> Callable[[Body], object]:
    """A getter for a dotted path, e.g. `at("metadata.progress_percent")`."""

    def get(body: Body) -> object:
        value: object = body
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    return get


def short(body: Body) -> str:
    """The last segment of a resource's `name` (its id)."""
    return str(body.get("name", "")).rsplit("/", 1)[-1]


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ", ".join(f"{k}={cell(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value)
    return str(value)


def document(body: object, fmt: Format) -> str:
    """The body as scripts receive it: JSON (indented, keys in the API's order) or YAML."""
    if fmt is Format.YAML:
        import yaml  # lazily: see the module's docstring

        return yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
    # orjson: json.dumps with indent falls back to the pure-Python encoder (0.2 s for the
    # report of a 1,000-topic apply).
    return orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n"


def emit(body: Body, fmt: Format, show: Callable[[Body], None]) -> None:
    """Print `body` unchanged for `json`/`yaml`, or through `show` for people."""
    if fmt is Format.TABLE:
        show(body)
    else:
        sys.stdout.write(document(body, fmt))
        sys.stdout.flush()


def table(rows: Iterable[Body], columns: Sequence[Column]) -> None:
    from rich.table import Table  # lazily: see the module's docstring

    t = Table(box=None, pad_edge=False, header_style="bold")
    for column in columns:
        t.add_column(column.header, overflow="fold")
    for row in rows:
        t.add_row(*(cell(c.value(row)) for c in columns))
    out().print(t)


def _condition(c: Body) -> str:
    return (
        f"{c.get('type')}={c.get('status')} {c.get('reason', '')} {c.get('message', '')}".rstrip()
    )


def details(body: Body, skip: Iterable[str] = ()) -> None:
    """One resource as `field  value` lines; conditions and steps as their own short lines."""
    from rich.table import Table  # lazily: see the module's docstring

    t = Table(box=None, pad_edge=False, show_header=False)
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    skipped = set(skip)
    for key, value in body.items():
        if key in skipped:
            continue
        if key == "conditions" and isinstance(value, list):
            value = "\n".join(_condition(c) for c in value)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            value = "\n".join(cell(v) for v in value)
        t.add_row(key, cell(value))
    out().print(t)


def note(message: str) -> None:
    """A message for the person at the terminal (stderr, so it never mixes with data)."""
    err().print(message, markup=False, soft_wrap=True)


def error(e: ApiError) -> None:
    reason = f" ({e.reason})" if e.reason and e.reason != e.status else ""
    code = f"{e.code} " if e.code else ""
    err().print(
        f"error: {code}{e.status}{reason}: {e.message}", markup=False, style="red", soft_wrap=True
    )
    for v in e.violations:
        line = f"{v.field}: {v.description}"
        if line != e.message:
            err().print(f"  {line}", markup=False)
