"""A Redis server on loopback for Celery's messages. Nothing in it is durable by design
(`--save ""`, no AOF): Postgres is the only source of truth."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from devstack.proc import free_port, port_open, stop_pid, wait_until


class LocalRedis:
    def __init__(self, workdir: Path, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.workdir = workdir
        self.host = host
        self.port = port or free_port(host)
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self, timeout: float = 20.0) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server not found: run `make os-deps`")
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                self.host,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--protected-mode",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = proc.pid
        wait_until(
            lambda: port_open(self.host, self.port) or proc.poll() is not None,
            timeout,
            f"redis on {self.host}:{self.port}",
        )
        if proc.poll() is not None:
            raise RuntimeError(f"redis exited; see {self.workdir / 'redis.log'}")

    def stop(self) -> None:
        if self.pid is not None:
            stop_pid(self.pid)
            self.pid = None
