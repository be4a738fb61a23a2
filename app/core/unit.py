"""The unit of work of one mutation: what it read and relies on, and what it writes.

A mutation reads on a connection with no transaction open (nothing is locked while Python
validates), and stages its writes here: new rows (`add`), changes of rows it read (`change`,
`remove`) and rows it merely relies on (`hold`, e.g. a topic's cluster). `land` then writes all
of it in ONE statement — that statement is the transaction — and only if every row read is
still at the version that was read (share-locked while the statement runs) and, with a claim,
the idempotency key is free. Otherwise it writes nothing and says why, and the request boundary
reads again. That version check is what an etag promises: an update or delete applies to the
version its caller saw.

Services never commit: they add to a Unit, and the request boundary (app.core.boundary) lands it
and runs the after-commit callbacks (the reconcile messages), which a failed landing drops.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, TypeVar, cast

from app.core.pools import Connection
from app.core.sql import Change, NewRow, Removal, delete_sql, insert_parts, table_of, update_sql
from app.models.base import utcnow

AfterCommit = Callable[[], Awaitable[None]]
M = TypeVar("M")


@dataclass(frozen=True)
class Held:
    """A row the writes depend on: it must still be at `version` and not being deleted."""

    table: str
    uid: uuid.UUID
    version: int
    live: bool  # also require delete_time IS NULL


@dataclass(frozen=True)
class Claim:
    """An idempotency key to claim as the rows are written (see kplane_idempotency_claim)."""

    lock_id: int
    principal: str
    key: str


@dataclass(frozen=True)
class Landing:
    """What `land` did. `written`: everything is committed. Otherwise `held` says whether every
    read row was unchanged, and with a claim, `locked` whether the key was free and `stored` is
    the key's record (a response to replay), if it has one."""

    written: bool
    held: bool
    locked: bool
    stored: Any


class Unit:
    """One mutation's reads' connection and its staged writes."""

    __slots__ = (
        "after_commit",
        "changes",
        "conflict",
        "connection",
        "held",
        "new",
        "once",
        "removals",
        "transaction",
    )

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.new: list[NewRow] = []
        self.changes: dict[uuid.UUID, Change] = {}
        self.removals: list[Removal] = []
        self.held: list[Held] = []
        self.after_commit: list[AfterCommit] = []
        self.once: set[object] = set()
        self.transaction: Any = None
        self.conflict: Callable[[], Awaitable[Exception | None]] | None = None

    async def lock(self, sql: str, *args: Any) -> Any:
        """Run a `SELECT ... FOR UPDATE` (a change that must see every concurrent write that its
        checks depend on, e.g. a scale-in and the topics' replication factors): it opens a
        transaction in which the unit's later reads and its landing run, so each later read
        sees what committed before the lock was granted. Rare: most mutations need no lock."""
        if self.transaction is None:
            self.transaction = self.connection.transaction()
            await self.transaction.start()
        return await self.connection.fetchrow(sql, *args)

    async def release(self) -> None:
        """End the unit's transaction, if `lock` opened one and `land` did not commit it."""
        if self.transaction is not None:
            transaction, self.transaction = self.transaction, None
            await transaction.rollback()

    def add(self, model: type[M], **values: Any) -> M:
        """A new row of `model`: a plain object with the model's attributes, not an ORM instance
        (a new row needs none of the ORM's tracking, which costs a hundred times more)."""
        row = NewRow(model, values)
        self.new.append(row)
        return cast(M, row)

    def change(self, model: type[Any], row: Any, **values: Any) -> None:
        """Update `row` (as read) with `values` and a new version; the row object shows the new
        values at once. Several changes of one row are one UPDATE."""
        staged = self.changes.get(row.uid)
        if staged is None:
            staged = self.changes[row.uid] = Change(model, row.uid, row.version, {})
            row.version += 1
        staged.values.update(values, version=row.version)
        for key, value in values.items():
            setattr(row, key, value)

    def remove(self, model: type[Any], row: Any) -> None:
        """Delete `row` (as read)."""
        self.removals.append(Removal(model, row.uid, row.version))

    def hold(self, model: type[Any], row: Any, live: bool = True) -> None:
        """The writes rely on `row` as read (and, with `live`, not being deleted)."""
        self.held.append(Held(table_of(model), row.uid, row.version, live))

    def on_conflict(self, explain: Callable[[], Awaitable[Exception | None]]) -> None:
        """When the write breaks a unique constraint (the resource exists), `explain()` says how,
        as the error to answer with, or None to run the mutation again from its reads. A unique
        index checks existence at the write, where a read before it would be one more round trip
        and could be overtaken anyway."""
        self.conflict = explain

    def on_commit(self, callback: AfterCommit, once: object = None) -> None:
        """Run `callback` once the unit has landed (never if it does not); with `once`, only the
        first callback of that key is kept."""
        if once is not None:
            if once in self.once:
                return
            self.once.add(once)
        self.after_commit.append(callback)


def apply_changes(
    unit: Unit,
    model: type[Any],
    row: Any,
    new: Mapping[str, Any],
    desired: Callable[[Any], dict[str, Any]],
) -> bool:
    """Stage `new` onto `row` in `unit`: a new version on any change, and a new generation only
    when the desired state (as `desired(row)` defines it) changed. True when the generation
    moved."""
    changed = {field: value for field, value in new.items() if getattr(row, field) != value}
    if not changed:
        return False
    moved = desired(SimpleNamespace(**{**vars(row), **changed})) != desired(row)
    if moved:
        changed["generation"] = row.generation + 1
    unit.change(model, row, **changed, update_time=utcnow())
    return moved


_CLAIM_CTE = "c AS (SELECT * FROM kplane_idempotency_claim($1, $2, $3))"
_CLAIMED = "(SELECT c.locked AND c.request_hash IS NULL FROM c)"
_CLAIM_COLUMNS = "c.locked, c.request_hash, c.status_code, c.body, c.body_encrypted, c.create_time"
_GATE = "(SELECT claimed AND held FROM go)"


def _checks(unit: Unit) -> list[Held]:
    """Every row the statement must find unchanged: the held ones and the ones it changes."""
    changed: list[Change | Removal] = [*unit.changes.values(), *unit.removals]
    checked = [Held(table_of(c.model), c.uid, c.read_version, live=False) for c in changed]
    return [*unit.held, *checked]


def landing_sql(unit: Unit, claim: Claim | None, args: list[Any]) -> str:
    """The one statement of `land`; appends its arguments to `args`."""
    ctes = []
    if claim is not None:
        args += [claim.lock_id, claim.principal, claim.key]
        ctes.append(_CLAIM_CTE)
    held = []
    for i, row in enumerate(_checks(unit)):
        args += [row.uid, row.version]
        n = len(args)
        live = " AND delete_time IS NULL" if row.live else ""
        ctes.append(
            f"h{i} AS (SELECT 1 FROM {row.table} WHERE uid = ${n - 1} AND version = ${n}"  # noqa: S608 - a model's table
            f"{live} FOR SHARE)"
        )
        held.append(f"EXISTS (SELECT 1 FROM h{i})")  # noqa: S608 - a CTE name
    claimed = _CLAIMED if claim is not None else "true"
    ctes.append(f"go AS (SELECT {claimed} AS claimed, {' AND '.join(held) or 'true'} AS held)")
    writes = [update_sql(c, args, _GATE) for c in unit.changes.values()]
    writes += [delete_sql(r, args, _GATE) for r in unit.removals]
    writes += insert_parts(unit.new, args, _GATE)
    ctes += (f"w{i} AS ({sql})" for i, sql in enumerate(writes))
    if claim is None:
        return f"WITH {', '.join(ctes)} SELECT go.claimed, go.held FROM go"  # noqa: S608 - fixed parts
    return f"WITH {', '.join(ctes)} SELECT go.claimed, go.held, {_CLAIM_COLUMNS} FROM go, c"  # noqa: S608 - fixed parts


async def land(unit: Unit, claim: Claim | None = None) -> Landing:
    """Write the unit in one statement — its whole transaction — if every read row is unchanged
    and, with a claim, its idempotency key is free and has no stored response.

    The key's transaction-scoped lock is taken in the statement and goes with its commit: a retry
    arriving meanwhile sees the key in flight, and one arriving after sees the stored response.
    Foreign keys are checked at the end of the statement, so the order of its parts is free.
    """
    args: list[Any] = []
    record = await unit.connection.fetchrow(landing_sql(unit, claim, args), *args)
    written = bool(record["claimed"] and record["held"])
    if unit.transaction is not None:
        if written:
            transaction, unit.transaction = unit.transaction, None
            await transaction.commit()
        else:
            await unit.release()
    if claim is None:
        return Landing(written, record["held"], True, None)
    stored = record if record["request_hash"] is not None else None
    return Landing(written, record["held"], record["locked"], stored)


async def run_after_commit(unit: Unit) -> None:
    callbacks, unit.after_commit = unit.after_commit, []
    for callback in callbacks:
        await callback()
