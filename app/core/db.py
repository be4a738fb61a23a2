"""The database session boundary of a request.

A request gets one AsyncSession inside one transaction. Services add and flush but never commit;
the boundary commits once the endpoint returned, then runs the session's after-commit callbacks
(the Celery messages), which are dropped if the transaction rolls back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, cast

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


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the request's transaction has committed (never if it rolls back)."""
    session.info.setdefault("after_commit", []).append(callback)


async def run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        await callback()


class ReadPool(Protocol):
    def acquire(self) -> AbstractAsyncContextManager[Any]: ...


def read_connection(request: Request) -> AbstractAsyncContextManager[Any]:
    """An asyncpg connection for the hot single-resource reads, with no ORM session around it:
    from the app's read pool (autocommit, JSON codecs as SQLAlchemy's)."""
    pool: ReadPool = request.app.state.read_pool
    return pool.acquire()


async def make_read_pool(url: str, size: int = 10) -> Any:
    import asyncpg

    async def codecs(connection: Any) -> None:
        for name in ("json", "jsonb"):
            await connection.set_type_codec(
                name,
                schema="pg_catalog",
                encoder=lambda v: orjson.dumps(v).decode(),
                decoder=orjson.loads,
            )

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    return await asyncpg.create_pool(dsn, min_size=1, max_size=size, init=codecs)


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
    array_type: str  # the Postgres type of an array of this column's values


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
            array_type="TEXT[]"
            if isinstance(column.type, JSONB)
            else f"{column.type.compile(dialect=dialect)}[]",
        )
        for column in table.columns
    )
    return table.name, columns


def _column_value(obj: Any, column: _InsertColumn) -> Any:
    value = getattr(obj, column.key)
    if value is None and column.default is not None:
        # What the ORM's flush would do: the column's Python-side default.
        default = column.default
        value = default.arg(None) if default.is_callable else default.arg
    if column.jsonb:
        # As the ORM stores it: Python None is JSON null.
        value = orjson.dumps(value).decode()
    return value


def _insert_sql(cls: Any, objs: list[Any], args: list[Any]) -> str:
    """One INSERT of every object of one model; appends its arguments to `args`.

    One row: a VALUES list. Several: one array per column, unnested into rows, so that the
    statement (and its cached plan) is the same for 2 or 1,000 rows and its argument count does
    not grow with them.
    """
    table, columns = _insert_columns(cls)
    rows = [[_column_value(obj, column) for column in columns] for obj in objs]
    kept = [
        i
        for i, column in enumerate(columns)
        if not (column.omit_when_none and all(row[i] is None for row in rows))
    ]
    names = ", ".join(columns[i].name for i in kept)
    start = len(args) + 1
    if len(rows) == 1:
        args.extend(rows[0][i] for i in kept)
        values = ", ".join(
            f"${n}::text::jsonb" if columns[i].jsonb else f"${n}" for n, i in enumerate(kept, start)
        )
        return f"INSERT INTO {table} ({names}) VALUES ({values})"  # noqa: S608 - names are the models'
    args.extend([row[i] for row in rows] for i in kept)
    arrays = ", ".join(f"${n}::{columns[i].array_type}" for n, i in enumerate(kept, start))
    selected = ", ".join(
        f"c{n}::jsonb" if columns[i].jsonb else f"c{n}" for n, i in enumerate(kept, start)
    )
    aliases = ", ".join(f"c{n}" for n in range(start, start + len(kept)))
    return (
        f"INSERT INTO {table} ({names}) SELECT {selected} "  # noqa: S608 - names are the models'
        f"FROM unnest({arrays}) AS u({aliases})"
    )


async def insert_new_rows(session: AsyncSession) -> None:
    """Write every new ORM object of the transaction in ONE statement.

    A mutation typically adds several rows of different tables (the resource, its Operation, the
    idempotency record, the audit record); the ORM would send one INSERT per table. A
    data-modifying CTE sends them together: one round trip instead of four, with one set-based
    INSERT per table however many rows a batch adds. Foreign keys are checked at the end of the
    statement, so the order of the parts does not matter.
    """
    new = list(session.new)
    if len(new) < 2:
        return
    by_model: dict[Any, list[Any]] = {}
    for obj in new:
        by_model.setdefault(type(obj), []).append(obj)
    args: list[Any] = []
    parts = [_insert_sql(cls, objs, args) for cls, objs in by_model.items()]
    from app.core.fastread import execute

    if len(parts) == 1:
        await execute(session, parts[0], *args)
    else:
        ctes = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(parts[:-1]))
        await execute(session, f"WITH {ctes} {parts[-1]}", *args)
    for obj in new:
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
            raise
    await run_after_commit(session)


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
