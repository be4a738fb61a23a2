"""A Redis server on loopback for Celery's messages. Nothing in it is durable by design
(`--save ""`, no AOF): Postgres is the only source of truth."""

from __future__ import annotations

import shutil
from pathlib import Path

from devstack.proc import free_port, spawn_listening, stop_pid


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
        self.pid = spawn_listening(
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
            self.workdir / "redis.log",
            self.host,
            self.port,
            timeout,
            "redis",
        )

    def stop(self) -> None:
        if self.pid is not None:
            stop_pid(self.pid)
            self.pid = None
