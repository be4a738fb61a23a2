"""The migrations are the schema: a fresh database migrated to head matches the models exactly
(`alembic check`), and the history downgrades cleanly."""

from __future__ import annotations

import subprocess
import sys

from devstack.postgres import LocalPostgres
from tests.conftest import REPO, migrate


def alembic(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alembic", "-x", f"url={url}", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
    )


def test_alembic_check_finds_no_drift(postgres: LocalPostgres) -> None:
    result = alembic(postgres.url, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_downgrade_and_upgrade_again(postgres: LocalPostgres) -> None:
    url = postgres.create_database("kplane_migrations")
    migrate(url)
    down = alembic(url, "downgrade", "base")
    assert down.returncode == 0, down.stderr
    migrate(url)
    assert alembic(url, "check").returncode == 0
