"""The hot read path: one prepared SELECT straight on the session's asyncpg connection.

Reads of one resource are most of the API's traffic (Terraform refreshes, consoles polling), and
the ORM's per-row machinery costs several times the query itself. Reads return plain namespaces
with the same attribute names as the ORM rows, so the same body builders serve both; updates and
deletes keep using the ORM. The connection is the session's own (or a Tx's), so a read inside a
transaction sees it.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, event
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from app.core.db import Tx
from app.models import Base, ResourceStatus

STATUS_COLUMNS = ("resource_uid", "observed_generation", "state", "conditions", "data", "version")


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


async def _driver(source: AsyncSession | Any) -> Any:
    """The asyncpg connection of a session, or `source` itself when it already is one."""
    if not isinstance(source, AsyncSession):
        return source.connection if isinstance(source, Tx) else source
    cached = source.info.get("driver")
    if cached is not None:
        return cached
    connection = await source.connection()
    raw = await connection.get_raw_connection()
    adapted: Any = raw.dbapi_connection
    # SQLAlchemy's asyncpg adapter sends BEGIN lazily, before its own first statement. A
    # statement sent straight to asyncpg must not run outside the session's transaction (its
    # locks and writes would not be atomic with the rest), so begin it now the same way.
    if adapted._transaction is None:
        await adapted._start_transaction()
    # Valid until the session ends its transaction (commit, rollback, close clear it).
    source.info["driver"] = raw.driver_connection
    return raw.driver_connection


@event.listens_for(Session, "after_transaction_end")
def _forget_driver(session: Session, transaction: SessionTransaction) -> None:
    """A session's cached asyncpg connection is valid for one transaction only."""
    if transaction.parent is None:
        session.info.pop("driver", None)


async def fetch_resource(
    session: AsyncSession | Any, sql: str, *args: Any
) -> tuple[Any, Any] | None:
    record = await (await _driver(session)).fetchrow(sql, *args)
    return None if record is None else split(record)


async def execute(session: AsyncSession | Any, sql: str, *args: Any) -> None:
    """Run one statement inside the session's transaction."""
    await (await _driver(session)).execute(sql, *args)


async def fetch_value(session: AsyncSession | Any, sql: str, *args: Any) -> Any:
    return await (await _driver(session)).fetchval(sql, *args)


async def fetch_all(session: AsyncSession | Any, sql: str, *args: Any) -> list[Any]:
    return list(await (await _driver(session)).fetch(sql, *args))


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


async def fetch_listed(source: Any, query: Any) -> list[tuple[Any, Any]]:
    """Run a list query built with `listed_columns`; (desired, status-or-None) per row."""
    sql, args = to_asyncpg(query)
    records = await (await _driver(source)).fetch(sql, *args)
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
