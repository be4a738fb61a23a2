"""Fixtures of the workers' integration tests: a migrated database of its own per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine

from devstack.postgres import LocalPostgres
from tests.conftest import migrate


@pytest.fixture(scope="module")
def engine(postgres: LocalPostgres, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A synchronous engine (as the workers use) on a fresh database migrated by Alembic,
    named after the test module."""
    name = "kplane_w_" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    url = postgres.create_database(name)
    migrate(url)
    eng = create_engine(url.replace("+asyncpg", "+psycopg"))
    try:
        yield eng
    finally:
        eng.dispose()
