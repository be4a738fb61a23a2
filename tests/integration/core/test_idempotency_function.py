"""The idempotency claim function the migrations leave in the database is the one
app/core/idempotency.py shows (CLAIM_FUNCTION), so a reader finds its current body in the code."""

from __future__ import annotations

import re

import psycopg

from app.core.idempotency import CLAIM_FUNCTION
from devstack.postgres import LocalPostgres


def _body(sql: str) -> str:
    """The PL/pgSQL between the $$ quotes, whitespace-normalised."""
    inner = sql.split("$$")[1] if "$$" in sql else sql.split("$function$")[1]
    return re.sub(r"\s+", " ", inner).strip()


def test_the_database_function_is_the_one_in_the_code(postgres: LocalPostgres) -> None:
    with psycopg.connect(postgres.url.replace("+asyncpg", "")) as db:
        row = db.execute(
            "SELECT pg_get_functiondef('kplane_idempotency_claim'::regproc)"
        ).fetchone()
    assert row is not None
    assert _body(row[0]) == _body(CLAIM_FUNCTION)
