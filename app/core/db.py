"""The database transaction boundary of a request.

A mutation runs in one transaction: an AsyncSession (`SessionDep`), or for creates a `Tx` — a
plain asyncpg connection with none of the ORM's unit-of-work machinery (a create only reads with
prepared statements and adds new rows), whose one write statement is its transaction (`land`).
Both are a `Unit`: services add new rows to it and never commit; the boundary writes the new
rows in one statement, commits, then runs the after-commit callbacks (the Celery messages),
which are dropped on a rollback.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Any, Protocol, TypeVar, cast

import orjson
from fastapi import Depends, Request
from sqlalchemy import Table, inspect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Mapper

AfterCommit = Callable[[], Awaitable[None]]
M = TypeVar("M")


def make_engine(url: str, pool_size: int = 20) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=20,
        pool_pre_ping=False,
        pool_recycle=1800,
        # The API's statements are few and fixed; asyncpg caches their plans per connection.
        connect_args={"server_settings": {"application_name": "kplane-api"}, "timeout": 5},
    )


def make_sessionmaker(bind: Any, **kwargs: Any) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(bind=bind, expire_on_commit=False, autoflush=False, **kwargs)


class Unit(Protocol):
    """What services need of a transaction: somewhere to add new rows and to keep per-transaction
    notes (after-commit callbacks). AsyncSession is one; Tx is the light one."""

    @property
    def info(self) -> dict[Any, Any]: ...

    def add(self, instance: object) -> None: ...


@dataclass(frozen=True)
class Held:
    """A row that new rows depend on (a topic's cluster): when they are written, it must still be
    at the version that was read and not being deleted, and it is share-locked while they are."""

    table: str
    uid: uuid.UUID
    version: int


class Tx:
    """A create on a raw asyncpg connection, with no transaction open while the request reads
    and validates: its reads run on their own, and its new rows are written at the end in one
    statement (see `land`), which is the transaction. What the reads relied on is named with
    `hold`, and that statement writes nothing if it changed meanwhile."""

    __slots__ = ("conflict", "connection", "held", "info", "new")

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.info: dict[Any, Any] = {}
        self.new: list[object] = []
        self.held: list[Held] = []
        self.conflict: Callable[[], Awaitable[Exception]] | None = None

    def add(self, instance: object) -> None:
        self.new.append(instance)

    def hold(self, table: str, uid: uuid.UUID, version: int) -> None:
        self.held.append(Held(table, uid, version))

    def on_conflict(self, explain: Callable[[], Awaitable[Exception]]) -> None:
        """When the write breaks a unique constraint (the resource exists), `explain()` says how,
        as the error to answer with. A unique index checks existence at the write, where a read
        before it would be one more round trip and could be overtaken anyway."""
        self.conflict = explain


class NewRow(SimpleNamespace):
    """A row to insert: the model's attribute names on a plain object (see add_row)."""

    def __init__(self, model: type[Any], values: dict[str, Any]) -> None:
        super().__init__(**values)
        self.__dict__["__model__"] = model


def add_row(unit: Unit, model: type[M], **values: Any) -> M:
    """A new row of `model`, written with the transaction's other new rows in one statement.

    A plain object with the model's attributes, not an ORM instance: a new row needs none of the
    ORM's tracking, and building an instance costs a hundred times more (instance state and an
    event per instrumented attribute). So it is only for rows that are inserted and read back,
    never changed or related through the ORM in the same transaction.
    """
    row = NewRow(model, values)
    if isinstance(unit, Tx):
        unit.new.append(row)
    else:
        unit.info.setdefault("new_rows", []).append(row)
    return cast(M, row)


def after_commit(unit: Unit, callback: AfterCommit) -> None:
    """Run `callback` once the request's transaction has committed (never if it rolls back)."""
    unit.info.setdefault("after_commit", []).append(callback)


async def run_after_commit(unit: Unit) -> None:
    callbacks: list[AfterCommit] = unit.info.pop("after_commit", [])
    for callback in callbacks:
        await callback()


class ReadPool(Protocol):
    def acquire(self) -> AbstractAsyncContextManager[Any]: ...


def read_connection(request: Request) -> AbstractAsyncContextManager[Any]:
    """An asyncpg connection for the hot reads and the creates, with no ORM session around it:
    from the app's asyncpg pool (autocommit outside a transaction; JSON decoded with orjson)."""
    pool: ReadPool = request.app.state.read_pool
    return pool.acquire()


@dataclass(frozen=True)
class Claim:
    """An idempotency key to claim as the rows are written (see kplane_idempotency_claim)."""

    lock_id: int
    principal: str
    key: str


@dataclass(frozen=True)
class Landing:
    """What `land` did. `written`: the rows are committed. Otherwise `held` says whether every
    held row was unchanged, and with a claim, `locked` whether the key was free and `stored` is
    the key's record (a response to replay), if it has one."""

    written: bool
    held: bool
    locked: bool
    stored: Any


_CLAIM_CTE = "c AS (SELECT * FROM kplane_idempotency_claim($1, $2, $3))"
_CLAIMED = "(SELECT c.locked AND c.request_hash IS NULL FROM c)"
_CLAIM_COLUMNS = "c.locked, c.request_hash, c.status_code, c.body, c.body_encrypted, c.create_time"


def _landing_sql(tx: Tx, claim: Claim | None, args: list[Any]) -> str:
    ctes, held = [], []
    if claim is not None:
        args += [claim.lock_id, claim.principal, claim.key]
        ctes.append(_CLAIM_CTE)
    for i, row in enumerate(tx.held):
        args += [row.uid, row.version]
        n = len(args)
        ctes.append(
            f"h{i} AS (SELECT 1 FROM {row.table} WHERE uid = ${n - 1} AND version = ${n} "  # noqa: S608 - a model's table
            "AND delete_time IS NULL FOR SHARE)"
        )
        held.append(f"EXISTS (SELECT 1 FROM h{i})")  # noqa: S608 - a CTE name
    claimed = _CLAIMED if claim is not None else "true"
    ctes.append(f"go AS (SELECT {claimed} AS claimed, {' AND '.join(held) or 'true'} AS held)")
    parts = _insert_parts(tx.new, args, gate="(SELECT claimed AND held FROM go)")
    ctes += (f"w{i} AS ({sql})" for i, sql in enumerate(parts))
    selected = "go.claimed, go.held" + ("" if claim is None else f", {_CLAIM_COLUMNS} FROM go, c")
    return f"WITH {', '.join(ctes)} SELECT {selected}" + (" FROM go" if claim is None else "")  # noqa: S608 - fixed parts


async def land(tx: Tx, claim: Claim | None = None) -> Landing:
    """Write the create's new rows in one statement — its whole transaction — if every held row is
    unchanged and, with a claim, its idempotency key is free and has no stored response.

    The key's transaction-scoped lock is taken in the statement and goes with its commit: a retry
    arriving meanwhile sees the key in flight, and one arriving after sees the stored response.
    """
    args: list[Any] = []
    sql = _landing_sql(tx, claim, args)
    connection = tx.connection
    if connection.is_in_transaction():
        # Inside a caller's transaction (tests): in a savepoint, so that a failed statement
        # leaves that transaction usable, as it leaves a connection of its own.
        async with connection.transaction():
            record = await connection.fetchrow(sql, *args)
    else:
        record = await connection.fetchrow(sql, *args)
    if claim is None:
        return Landing(record["claimed"] and record["held"], record["held"], True, None)
    stored = record if record["request_hash"] is not None else None
    return Landing(record["claimed"] and record["held"], record["held"], record["locked"], stored)


async def make_read_pool(url: str, size: int = 20) -> Any:
    import asyncpg

    async def codecs(connection: Any) -> None:
        for name in ("json", "jsonb"):
            await connection.set_type_codec(
                name,
                schema="pg_catalog",
                encoder=lambda v: orjson.dumps(v).decode(),
                decoder=orjson.loads,
            )

    async def keep_session(connection: Any) -> None:
        """Nothing to reset: the API sets no session state (no SET, LISTEN, cursors or session
        advisory locks; its locks are transaction-scoped), and asyncpg still rolls back an open
        transaction. The default reset costs a round trip on every release."""

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    return await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=size,
        init=codecs,
        reset=keep_session,
        server_settings={"application_name": "kplane-api"},
    )


class SingleConnectionPool:
    """A ReadPool over one existing connection (tests: the rolled-back test transaction)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    @asynccontextmanager
    async def _one(self) -> AsyncIterator[Any]:
        yield self.connection

    def acquire(self) -> AbstractAsyncContextManager[Any]:
        return self._one()


def sessionmaker_of(request: Request) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return factory


def read_sessionmaker_of(request: Request) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads: autocommit, so a GET costs its SELECTs and no BEGIN/COMMIT."""
    factory: async_sessionmaker[AsyncSession] = getattr(
        request.app.state, "read_sessionmaker", request.app.state.sessionmaker
    )
    return factory


@dataclass(frozen=True)
class _InsertColumn:
    name: str
    key: str
    default: Any  # the column's Python-side default, or None
    omit_when_none: bool  # identity or server default: let the database fill it in
    jsonb: bool
    # The Postgres type a value is cast to, without a length: an explicit cast to varchar(n)
    # would cut a longer value silently, where the assignment to the column refuses it.
    cast_type: str


_insert_plans: dict[Any, tuple[str, tuple[_InsertColumn, ...]]] = {}


def _insert_columns(cls: Any) -> tuple[str, tuple[_InsertColumn, ...]]:
    plan = _insert_plans.get(cls)
    if plan is None:
        plan = _insert_plans[cls] = _plan_insert(cls)
    return plan


def _plan_insert(cls: Any) -> tuple[str, tuple[_InsertColumn, ...]]:
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    mapper: Mapper[Any] = inspect(cls)
    table = cast(Table, mapper.local_table)
    columns = tuple(
        _InsertColumn(
            name=column.name,
            key=mapper.get_property_by_column(column).key,
            default=column.default,
            omit_when_none=column.identity is not None or column.server_default is not None,
            jsonb=isinstance(column.type, JSONB),
            # JSON travels as text (whatever the connection's JSON codec) and is cast per row.
            cast_type="TEXT"
            if isinstance(column.type, JSONB)
            else re.sub(r"\(\d+\)$", "", column.type.compile(dialect=dialect)),
        )
        for column in table.columns
    )
    return table.name, columns


def _column_value(obj: Any, column: _InsertColumn) -> Any:
    value = getattr(obj, column.key, None)
    if value is None and column.default is not None:
        # What the ORM's flush would do: the column's Python-side default.
        default = column.default
        value = default.arg(None) if default.is_callable else default.arg
    if column.jsonb:
        # As the ORM stores it: Python None is JSON null.
        value = orjson.dumps(value).decode()
    return value


def _insert_sql(cls: Any, objs: list[Any], args: list[Any], gate: str = "") -> str:
    """One INSERT of every object of one model; appends its arguments to `args`.

    One row: a VALUES list. Several: one array per column, unnested into rows, so that the
    statement (and its cached plan) is the same for 2 or 1,000 rows and its argument count does
    not grow with them. With a `gate` (an SQL condition), the rows are inserted only if it holds.
    """
    table, columns = _insert_columns(cls)
    rows = [[_column_value(obj, column) for column in columns] for obj in objs]
    kept = tuple(
        i
        for i, column in enumerate(columns)
        if not (column.omit_when_none and all(row[i] is None for row in rows))
    )
    if len(rows) == 1:
        args.extend(rows[0][i] for i in kept)
    else:
        args.extend([row[i] for row in rows] for i in kept)
    shape = (cls, kept, len(rows) == 1, len(args) - len(kept) + 1, gate)
    sql = _insert_texts.get(shape)
    if sql is None:
        sql = _insert_texts[shape] = _insert_text(table, columns, *shape[1:])
    return sql


_insert_texts: dict[tuple[Any, tuple[int, ...], bool, int, str], str] = {}


def _insert_text(
    table: str,
    columns: tuple[_InsertColumn, ...],
    kept: tuple[int, ...],
    one: bool,
    start: int,
    gate: str,
) -> str:
    names = ", ".join(columns[i].name for i in kept)
    where = f" WHERE {gate}" if gate else ""
    if one and not gate:
        values = ", ".join(
            f"${n}::text::jsonb" if columns[i].jsonb else f"${n}" for n, i in enumerate(kept, start)
        )
        return f"INSERT INTO {table} ({names}) VALUES ({values})"  # noqa: S608 - names are the models'
    if one:
        # A SELECT (which can have a WHERE) instead of VALUES; it does not take the columns'
        # types for its parameters, so each is cast.
        values = ", ".join(
            f"${n}::text::jsonb" if columns[i].jsonb else f"${n}::{columns[i].cast_type}"
            for n, i in enumerate(kept, start)
        )
        return f"INSERT INTO {table} ({names}) SELECT {values}{where}"
    arrays = ", ".join(f"${n}::{columns[i].cast_type}[]" for n, i in enumerate(kept, start))
    selected = ", ".join(
        f"c{n}::jsonb" if columns[i].jsonb else f"c{n}" for n, i in enumerate(kept, start)
    )
    aliases = ", ".join(f"c{n}" for n in range(start, start + len(kept)))
    return (
        f"INSERT INTO {table} ({names}) SELECT {selected} "  # noqa: S608 - names are the models'
        f"FROM unnest({arrays}) AS u({aliases}){where}"
    )


def _insert_parts(new: list[Any], args: list[Any], gate: str = "") -> list[str]:
    """One INSERT per model of the objects `new` (see _insert_sql); appends their arguments."""
    by_model: dict[Any, list[Any]] = {}
    for obj in new:
        model = obj.__model__ if isinstance(obj, NewRow) else type(obj)
        by_model.setdefault(model, []).append(obj)
    return [_insert_sql(cls, objs, args, gate) for cls, objs in by_model.items()]


async def insert_rows(unit: Unit | Any, new: list[Any]) -> None:
    """Write the new model instances `new` in ONE statement in `unit`'s transaction.

    A mutation typically adds several rows of different tables (the resource, its Operation, the
    idempotency record, the audit record); the ORM would send one INSERT per table. A
    data-modifying CTE sends them together: one round trip instead of four, with one set-based
    INSERT per table however many rows a batch adds. Foreign keys are checked at the end of the
    statement, so the order of the parts does not matter.
    """
    args: list[Any] = []
    parts = _insert_parts(new, args)
    from app.core.fastread import execute

    if len(parts) == 1:
        await execute(unit, parts[0], *args)
    elif parts:
        ctes = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(parts[:-1]))
        await execute(unit, f"WITH {ctes} {parts[-1]}", *args)


async def insert_new_rows(session: AsyncSession) -> None:
    """insert_rows for the session's new ORM objects and add_row rows (the ORM's flush is left
    nothing to insert)."""
    tracked = list(session.new)
    rows: list[NewRow] = session.info.pop("new_rows", [])
    if not rows and len(tracked) < 2:
        return
    await insert_rows(session, tracked + rows)
    for obj in tracked:
        session.expunge(obj)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit after the endpoint, roll back on any error.

    A successful mutation's audit record is added here, so that it commits with the mutation.
    """
    from app.core import audit  # audit needs sessionmaker_of from this module

    if request.method in ("GET", "HEAD"):
        async with read_sessionmaker_of(request)() as session:
            yield session
        return
    factory = sessionmaker_of(request)
    async with factory() as session:
        try:
            yield session
            audit.record_success(session, request)
            await insert_new_rows(session)
            await session.commit()
        except BaseException:
            await session.rollback()
            session.info.pop("after_commit", None)
            session.info.pop("new_rows", None)
            raise
    await run_after_commit(session)


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
