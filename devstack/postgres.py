"""A throwaway or persistent PostgreSQL server on loopback, from the OS package's binaries.

PostgreSQL refuses to run as root, so when we are root the server runs as the `postgres` system
user; its data directory is handed to that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from devstack.proc import free_port, spawn_listening, stop_pid, wait_until

PG_BIN_CANDIDATES = [Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin")]


def pg_bin(name: str) -> str:
    for d in PG_BIN_CANDIDATES:
        if (d / name).exists():
            return str(d / name)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found: run `make os-deps`")
    return found


class LocalPostgres:
    """One PostgreSQL server with a database `kplane` owned by role `kplane` (trust auth)."""

    def __init__(self, workdir: Path, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.workdir = workdir
        self.datadir = workdir / "data"
        self.host = host
        self.port = port or free_port(host)
        self.pid: int | None = None
        self._log = workdir / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://kplane@{self.host}:{self.port}/kplane"

    def _as_pg_user(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            # The server user must be able to reach its directory through every parent
            # (temporary directories are 0700): grant traverse-only permission where missing.
            for parent in path.resolve().parents:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o711)  # noqa: S103 - traverse only
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def start(self, timeout: float = 60.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._chown(self.workdir)
        fresh = not (self.datadir / "PG_VERSION").exists()
        if fresh:
            self.datadir.mkdir(exist_ok=True)
            self._chown(self.datadir)
            subprocess.run(
                [
                    *self._as_pg_user(),
                    pg_bin("initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
            )
        self.pid = spawn_listening(
            [
                *self._as_pg_user(),
                pg_bin("postgres"),
                "-D",
                str(self.datadir),
                "-p",
                str(self.port),
                "-c",
                f"listen_addresses={self.host}",
                "-c",
                f"unix_socket_directories={self.workdir}",
                # Durability is not what a local or test server is for; speed is.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=128MB",
            ],
            self._log,
            self.host,
            self.port,
            timeout,
            "postgres",
        )
        wait_until(self._accepts_queries, timeout, "postgres to accept queries", interval=0.1)
        if fresh:
            self._psql("CREATE ROLE kplane LOGIN SUPERUSER")
            self._psql("CREATE DATABASE kplane OWNER kplane")

    def _accepts_queries(self) -> bool:
        return self._psql("SELECT 1", check=False) == 0

    def _psql(self, sql: str, check: bool = True, db: str = "postgres") -> int:
        result = subprocess.run(
            [
                pg_bin("psql"),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-qc",
                sql,
            ],
            capture_output=True,
            text=True,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.returncode

    def create_database(self, name: str) -> str:
        """A second database on the same server (e.g. one per test tier); returns its URL."""
        self._psql(f'CREATE DATABASE "{name}" OWNER kplane')
        return f"postgresql+asyncpg://kplane@{self.host}:{self.port}/{name}"

    def copy_database(self, template: str, name: str) -> str:
        """A new database copied from `template` (which no one may be connected to)."""
        self._psql(f'CREATE DATABASE "{name}" OWNER kplane TEMPLATE "{template}"')
        return f"postgresql+asyncpg://kplane@{self.host}:{self.port}/{name}"

    def drop_database(self, name: str) -> None:
        self._psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.pid is not None:
            # SIGTERM is PostgreSQL's "smart" shutdown; runuser forwards it to the server.
            stop_pid(self.pid, grace=15.0)
            self.pid = None
