"""Fixtures every tier may use. Expensive parts start lazily, once per session, and only when a
test asks for them: a real PostgreSQL migrated by Alembic, a real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.postgres import LocalPostgres
from devstack.redis import LocalRedis

REPO = Path(__file__).resolve().parents[1]

# Settings are read once per process; tests use these deterministic dev values.
os.environ.setdefault("KPLANE_ENVIRONMENT", "test")
os.environ.setdefault("KPLANE_ADMIN_TOKEN", "test-admin-token-0123456789")
os.environ.setdefault("KPLANE_SECRET_KEY", "test-secret-key-0123456789")
os.environ.setdefault("KPLANE_LOG_LEVEL", "WARNING")


def migrate(url: str) -> None:
    """Build the schema the way production does: `alembic upgrade head`, never create_all."""
    subprocess.run(
        [sys.executable, "-m", "alembic", "-x", f"url={url}", "upgrade", "head"],
        cwd=REPO, check=True, capture_output=True,
    )


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPostgres]:
    server = LocalPostgres(tmp_path_factory.mktemp("postgres"))
    server.start()
    try:
        migrate(server.url)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedis]:
    server = LocalRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"
