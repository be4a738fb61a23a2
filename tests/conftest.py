"""Fixtures every tier may use. Expensive parts start lazily, once per session, and only when a
test asks for them: a real PostgreSQL migrated by Alembic, a real Redis."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
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
        cwd=REPO,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    # Not under pytest's tmp dir: pytest keeps that 0700, and as root the server runs as the
    # `postgres` user, who must be able to reach its data directory.
    workdir = Path(tempfile.mkdtemp(prefix="kplane-test-pg-"))
    workdir.chmod(0o711)
    server = LocalPostgres(workdir / "pg")
    server.start()
    try:
        migrate(server.url)
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


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


class LiveApi:
    """The API as a real uvicorn process on its own database, for concurrency and fuzzing."""

    def __init__(self, base_url: str, database_url: str, redis_url: str, pid: int) -> None:
        self.base_url = base_url
        self.database_url = database_url
        self.redis_url = redis_url
        self.pid = pid
        self.admin = {"Authorization": f"Bearer {os.environ['KPLANE_ADMIN_TOKEN']}"}


@pytest.fixture(scope="session")
def live_api(
    postgres: LocalPostgres, redis_server: LocalRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApi]:
    from devstack.proc import free_port, port_open, stop_pid, wait_until

    url = postgres.create_database("kplane_live")
    migrate(url)
    # A Redis database of its own: workers of other tiers consume database 0's queue.
    redis_url = redis_server.url.rsplit("/", 1)[0] + "/15"
    port = free_port()
    log = open(tmp_path_factory.mktemp("api") / "api.log", "wb")  # noqa: SIM115
    env = {**os.environ, "KPLANE_DATABASE_URL": url, "KPLANE_REDIS_URL": redis_url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(
            lambda: port_open("127.0.0.1", port) or proc.poll() is not None, 30, "the API to listen"
        )
        assert proc.poll() is None, "the API process exited"
        yield LiveApi(f"http://127.0.0.1:{port}", url, redis_url, proc.pid)
    finally:
        stop_pid(proc.pid)
        log.close()
