"""SQL on an asyncpg connection: the prepared reads of resources and lists, and the compiler of
the INSERT, UPDATE and DELETE statements a unit of work writes.

Reads return plain namespaces with the ORM models' attribute names (a resource's status columns
prefixed `s_` and split off), so that one body renderer (`app/<domain>/views.py`) serves the API
and the workers. The models are used for their tables and columns only: SQLAlchemy builds the
dynamic list queries, compiled once per shape for asyncpg.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

import orjson
from sqlalchemy import Table, inspect
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.orm import Mapper

from app.core.pools import Connection
from app.models import Base, ResourceStatus

STATUS_COLUMNS = ("resource_uid", "observed_generation", "state", "conditions", "data", "version")


# --- reads -------------------------------------------------------------------------------------


def resource_select(model: type[Base], *where_columns: str) -> str:
    """SELECT every column of `model` plus its status (prefixed `s_`), by `where_columns`."""
    where = " AND ".join(f"r.{c} = ${i}" for i, c in enumerate(where_columns, start=1))
    return _select(model, where)


def child_select(model: type[Base], id_column: str) -> str:
    """resource_select of a resource inside a cluster (a topic, an acl, a user) by project id ($1),
    cluster id ($2) and its own id ($3), found through the cluster's uid: the (cluster_uid, id)
    unique index serves it, where its own project_id and cluster_id columns have no index."""
    return _select(
        model,
        "r.cluster_uid = (SELECT c.uid FROM clusters AS c WHERE c.project_id = $1 "  # noqa: S608 - a column name of ours
        f"AND c.cluster_id = $2) AND r.{id_column} = $3",
    )


def _select(model: type[Base], where: str) -> str:
    table = cast(Table, model.__table__)
    columns = ", ".join(f"r.{c.name}" for c in table.columns)
    status = ", ".join(f"s.{c} AS s_{c}" for c in STATUS_COLUMNS)
    return (
        f"SELECT {columns}, {status} FROM {table.name} AS r "  # noqa: S608 - names are ours
        f"LEFT JOIN resource_status AS s ON s.resource_uid = r.uid WHERE {where}"
    )


def split(record: Any) -> tuple[Any, Any]:
    """(desired, status-or-None) namespaces from one joined record."""
    desired: dict[str, Any] = {}
    status: dict[str, Any] = {}
    for key, value in record.items():
        if key.startswith("s_"):
            status[key[2:]] = value
        else:
            desired[key] = value
    return SimpleNamespace(**desired), (
        SimpleNamespace(**status) if status["resource_uid"] is not None else None
    )


async def fetch_resource(connection: Connection, sql: str, *args: Any) -> tuple[Any, Any] | None:
    """One resource and its status (see resource_select), or None."""
    record = await connection.fetchrow(sql, *args)
    return None if record is None else split(record)


def row_of(record: Any) -> Any:
    """A record as a namespace of its columns (None stays None)."""
    return None if record is None else SimpleNamespace(**dict(record.items()))


async def fetch_one(connection: Connection, sql: str, *args: Any) -> Any:
    """One row as a namespace of its columns, or None."""
    return row_of(await connection.fetchrow(sql, *args))


def listed_columns(model: type[Base]) -> list[Any]:
    """Columns for a list query: the resource's own and its status's (labelled `s_...`), so that
    rows load as plain tuples rather than ORM objects."""
    status = cast(Table, ResourceStatus.__table__)
    return [
        *cast(Table, model.__table__).columns,
        *(status.c[name].label(f"s_{name}") for name in STATUS_COLUMNS),
    ]


_DIALECT = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]
_compiled: dict[Any, Any] = {}


def to_asyncpg(query: Any) -> tuple[str, list[Any]]:
    """SQL text and positional arguments for asyncpg, compiling each statement shape once.

    SQLAlchemy builds the dynamic list queries (filters, keyset, order); its cache key separates
    the shape (compiled once, kept) from this request's values (bound each time).
    """
    key = query._generate_cache_key()
    compiled = _compiled.get(key.key)
    if compiled is None:
        if len(_compiled) > 2000:
            _compiled.clear()
        compiled = _compiled[key.key] = query.compile(dialect=_DIALECT, cache_key=key)
    params = compiled.construct_params(extracted_parameters=key.bindparams)
    return str(compiled), [params[name] for name in compiled.positiontup]


async def fetch_rows(connection: Connection, query: Any) -> list[Any]:
    """A SQLAlchemy query's rows, each a namespace of its columns."""
    sql, args = to_asyncpg(query)
    return [row_of(r) for r in await connection.fetch(sql, *args)]


async def fetch_listed(connection: Connection, query: Any) -> list[tuple[Any, Any]]:
    """Run a list query built with `listed_columns`; (desired, status-or-None) per row."""
    sql, args = to_asyncpg(query)
    records = await connection.fetch(sql, *args)
    if not records:
        return []
    keys = list(records[0].keys())
    own = [(i, k) for i, k in enumerate(keys) if not k.startswith("s_")]
    status = [(i, k[2:]) for i, k in enumerate(keys) if k.startswith("s_")]
    marker = keys.index("s_resource_uid")
    pairs: list[tuple[Any, Any]] = []
    for row in records:
        desired = SimpleNamespace(**{k: row[i] for i, k in own})
        observed = (
            SimpleNamespace(**{k: row[i] for i, k in status}) if row[marker] is not None else None
        )
        pairs.append((desired, observed))
    return pairs


# --- writes ------------------------------------------------------------------------------------


class NewRow(SimpleNamespace):
    """A row to insert: the model's attribute names on a plain object (see Unit.add)."""

    def __init__(self, model: type[Any], values: dict[str, Any]) -> None:
        super().__init__(**values)
        self.__dict__["__model__"] = model


@dataclass
class Change:
    """An UPDATE of one row, written only if the row is still at the version that was read."""

    model: type[Any]
    uid: uuid.UUID
    read_version: int
    values: dict[str, Any]


@dataclass(frozen=True)
class Removal:
    """A DELETE of one row, written only if the row is still at the version that was read."""

    model: type[Any]
    uid: uuid.UUID
    read_version: int


@dataclass(frozen=True)
class _Column:
    name: str
    key: str
    default: Any  # the column's Python-side default, or None
    omit_when_none: bool  # identity or server default: let the database fill it in
    jsonb: bool
    # The Postgres type a value is cast to, without a length: an explicit cast to varchar(n)
    # would cut a longer value silently, where the assignment to the column refuses it.
    cast_type: str


@dataclass(frozen=True)
class _TablePlan:
    table: str
    columns: tuple[_Column, ...]
    by_key: dict[str, _Column]


_plans: dict[Any, _TablePlan] = {}


def _plan(cls: Any) -> _TablePlan:
    plan = _plans.get(cls)
    if plan is None:
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        mapper: Mapper[Any] = inspect(cls)
        table = cast(Table, mapper.local_table)
        columns = tuple(
            _Column(
                name=column.name,
                key=mapper.get_property_by_column(column).key,
                default=column.default,
                omit_when_none=column.identity is not None or column.server_default is not None,
                jsonb=isinstance(column.type, JSONB),
                # JSON travels as text (whatever the connection's JSON codec) and is cast.
                cast_type="TEXT"
                if isinstance(column.type, JSONB)
                else re.sub(r"\(\d+\)$", "", column.type.compile(dialect=dialect)),
            )
            for column in table.columns
        )
        plan = _plans[cls] = _TablePlan(table.name, columns, {c.key: c for c in columns})
    return plan


def _encoded(column: _Column, value: Any) -> Any:
    # As the ORM stores it: Python None is JSON null.
    return orjson.dumps(value).decode() if column.jsonb else value


def _insert_value(obj: Any, column: _Column) -> Any:
    value = getattr(obj, column.key, None)
    if value is None and column.default is not None:
        # What the ORM's flush would do: the column's Python-side default.
        default = column.default
        value = default.arg(None) if default.is_callable else default.arg
    return _encoded(column, value)


def _param(column: _Column, n: int) -> str:
    return f"${n}::text::jsonb" if column.jsonb else f"${n}::{column.cast_type}"


def _insert_sql(cls: Any, objs: list[Any], args: list[Any], gate: str) -> str:
    """One INSERT of every object of one model, if `gate` (an SQL condition) holds; appends its
    arguments to `args`.

    One row: a SELECT of parameters. Several: one array per column, unnested into rows, so that
    the statement (and its cached plan) is the same for 2 or 1,000 rows and its argument count
    does not grow with them.
    """
    plan = _plan(cls)
    rows = [[_insert_value(obj, column) for column in plan.columns] for obj in objs]
    kept = [
        (i, column)
        for i, column in enumerate(plan.columns)
        if not (column.omit_when_none and all(row[i] is None for row in rows))
    ]
    start = len(args) + 1
    names = ", ".join(column.name for _, column in kept)
    if len(rows) == 1:
        args.extend(rows[0][i] for i, _ in kept)
        values = ", ".join(_param(column, n) for n, (_, column) in enumerate(kept, start))
        return f"INSERT INTO {plan.table} ({names}) SELECT {values} WHERE {gate}"
    args.extend([row[i] for row in rows] for i, _ in kept)
    arrays = ", ".join(f"${n}::{column.cast_type}[]" for n, (_, column) in enumerate(kept, start))
    aliases = ", ".join(f"c{n}" for n in range(len(kept)))
    selected = ", ".join(
        f"c{n}::jsonb" if column.jsonb else f"c{n}" for n, (_, column) in enumerate(kept)
    )
    return (
        f"INSERT INTO {plan.table} ({names}) SELECT {selected} "  # noqa: S608 - names are the models'
        f"FROM unnest({arrays}) AS u({aliases}) WHERE {gate}"
    )


def insert_parts(new: list[NewRow], args: list[Any], gate: str) -> list[str]:
    """One INSERT per model of the rows `new` (see _insert_sql); appends their arguments."""
    by_model: dict[Any, list[Any]] = {}
    for obj in new:
        by_model.setdefault(obj.__model__, []).append(obj)
    return [_insert_sql(cls, objs, args, gate) for cls, objs in by_model.items()]


def update_sql(change: Change, args: list[Any], gate: str) -> str:
    """The UPDATE of `change`, if `gate` holds and the row is at the version read."""
    plan = _plan(change.model)
    sets = []
    for key, value in change.values.items():
        column = plan.by_key[key]
        args.append(_encoded(column, value))
        sets.append(f"{column.name} = {_param(column, len(args))}")
    args += [change.uid, change.read_version]
    n = len(args)
    return (
        f"UPDATE {plan.table} SET {', '.join(sets)} "  # noqa: S608 - names are the models'
        f"WHERE uid = ${n - 1} AND version = ${n} AND {gate}"
    )


def delete_sql(removal: Removal, args: list[Any], gate: str) -> str:
    """The DELETE of `removal`, if `gate` holds and the row is at the version read."""
    args += [removal.uid, removal.read_version]
    n = len(args)
    return (
        f"DELETE FROM {_plan(removal.model).table} "  # noqa: S608 - a model's table
        f"WHERE uid = ${n - 1} AND version = ${n} AND {gate}"
    )


def table_of(model: type[Any]) -> str:
    return _plan(model).table
