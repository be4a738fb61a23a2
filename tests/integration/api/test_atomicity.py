"""Statements sent straight to asyncpg run inside the session's transaction: a rollback takes
back the rows written in one statement, and a transaction-scoped lock is held until the end."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.db import insert_new_rows, make_sessionmaker
from app.core.fastread import fetch_value
from app.models import AuditRecord, Project
from devstack.postgres import LocalPostgres

pytestmark = pytest.mark.anyio


async def test_one_statement_insert_rolls_back_with_the_session(postgres: LocalPostgres) -> None:
    engine = create_async_engine(postgres.url)
    sessions = make_sessionmaker(engine)
    project_id = f"atom-{uuid.uuid4().hex[:8]}"
    try:
        async with sessions() as session:
            session.add(Project(id=project_id, uid=uuid.uuid4(), display_name="", labels={}))
            session.add(
                AuditRecord(
                    project_id=project_id,
                    principal="t",
                    action="a",
                    target="t",
                    request_id="r",
                    result_code=200,
                    result="OK",
                )
            )
            await insert_new_rows(session)
            await session.rollback()
        async with sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(Project).where(Project.id == project_id)
            )
            audits = await session.scalar(
                select(func.count())
                .select_from(AuditRecord)
                .where(AuditRecord.project_id == project_id)
            )
        assert (count, audits) == (0, 0)
    finally:
        await engine.dispose()


async def test_transaction_lock_is_held_until_commit(postgres: LocalPostgres) -> None:
    engine = create_async_engine(postgres.url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as first, sessions() as second:
            assert await fetch_value(first, "SELECT pg_try_advisory_xact_lock(4242)") is True
            assert await fetch_value(second, "SELECT pg_try_advisory_xact_lock(4242)") is False
            await first.commit()
            assert await fetch_value(second, "SELECT pg_try_advisory_xact_lock(4242)") is True
    finally:
        await engine.dispose()


async def test_a_session_reused_after_commit_begins_again(postgres: LocalPostgres) -> None:
    engine = create_async_engine(postgres.url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as first, sessions() as second:
            assert await fetch_value(first, "SELECT pg_try_advisory_xact_lock(4343)") is True
            await first.commit()
            # The same session again: its statement must run in a new transaction, which then
            # holds the lock until it ends (in autocommit the lock would be gone at once).
            assert await fetch_value(first, "SELECT pg_try_advisory_xact_lock(4343)") is True
            assert await fetch_value(second, "SELECT pg_try_advisory_xact_lock(4343)") is False
            await first.rollback()
            assert await fetch_value(second, "SELECT pg_try_advisory_xact_lock(4343)") is True
    finally:
        await engine.dispose()
