"""`make run`: the whole system locally, on the embedded defaults.

Starts (or reuses, when already running from an earlier `make run`) PostgreSQL and Redis on
loopback with their state under .run/, applies the migrations, and serves the API on
127.0.0.1:8080 in the foreground. Ctrl-C stops what this command started. The admin token and
the secret key are generated once and kept in .run/ (mode 0600).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from devstack.postgres import LocalPostgres
from devstack.proc import port_open, stop_pid
from devstack.redis import LocalRedis

REPO = Path(__file__).resolve().parents[1]
RUN = Path(os.environ.get("KPLANE_RUN_DIR", REPO / ".run"))
PG_PORT = int(os.environ.get("KPLANE_RUN_PG_PORT", "15432"))
REDIS_PORT = int(os.environ.get("KPLANE_RUN_REDIS_PORT", "16379"))
API_HOST = "127.0.0.1"
API_PORT = int(os.environ.get("KPLANE_RUN_API_PORT", "8080"))


def _secret(name: str) -> str:
    path = RUN / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def main() -> None:
    RUN.mkdir(parents=True, exist_ok=True)
    RUN.chmod(0o711)  # the postgres user must reach .run/postgres
    started: list[int] = []
    postgres = LocalPostgres(RUN / "postgres", port=PG_PORT)
    if port_open("127.0.0.1", PG_PORT):
        print(f"postgres: reusing the server on 127.0.0.1:{PG_PORT}")
    else:
        postgres.start()
        assert postgres.pid is not None
        started.append(postgres.pid)
        print(f"postgres: started on 127.0.0.1:{PG_PORT} (pid {postgres.pid})")
    redis = LocalRedis(RUN / "redis", port=REDIS_PORT)
    if port_open("127.0.0.1", REDIS_PORT):
        print(f"redis: reusing the server on 127.0.0.1:{REDIS_PORT}")
    else:
        redis.start()
        assert redis.pid is not None
        started.append(redis.pid)
        print(f"redis: started on 127.0.0.1:{REDIS_PORT} (pid {redis.pid})")
    admin_token = os.environ.get("KPLANE_ADMIN_TOKEN") or _secret("admin-token")
    env = {
        **os.environ,
        "KPLANE_DATABASE_URL": postgres.url,
        "KPLANE_REDIS_URL": redis.url,
        "KPLANE_ADMIN_TOKEN": admin_token,
        "KPLANE_SECRET_KEY": os.environ.get("KPLANE_SECRET_KEY") or _secret("secret-key"),
    }
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"], cwd=REPO, env=env, check=True
    )
    (RUN / "env").write_text(
        "".join(f"export {k}={env[k]}\n" for k in ("KPLANE_DATABASE_URL", "KPLANE_REDIS_URL"))
    )
    print(
        f"""
kplane API on http://{API_HOST}:{API_PORT}
admin token (also in .run/admin-token): {admin_token}

  export KPLANE_TOKEN=$(cat .run/admin-token)
  curl -s -X POST "http://{API_HOST}:{API_PORT}/v1/projects?project_id=demo" \\
       -H "Authorization: Bearer $KPLANE_TOKEN" -H 'Content-Type: application/json' -d '{{}}'

Ctrl-C stops the API{" and what this command started" if started else ""}.
""",
        flush=True,
    )
    api = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            API_HOST,
            "--port",
            str(API_PORT),
            "--no-access-log",
        ],
        cwd=REPO,
        env=env,
    )

    def stop(*_: object) -> None:
        stop_pid(api.pid)
        for pid in reversed(started):
            stop_pid(pid, grace=15)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    api.wait()
    stop()


if __name__ == "__main__":
    main()
