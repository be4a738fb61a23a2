"""`make run`: the whole system locally, on the embedded defaults.

Starts (or reuses, when already running from an earlier `make run`) PostgreSQL and Redis on
loopback with their state under .run/, applies the migrations, starts the devstack Kubernetes
(etcd, kube-apiserver, kube-controller-manager and the pod runner, under .run/kube; reused when
`make devstack-up` already runs it), then the API on 127.0.0.1:8080, a Celery worker and the
leader-elected beat. Creating a cluster through the API then yields a real Kafka cluster whose
brokers listen on pod addresses (10.244.x.y) this machine reaches directly.

Ctrl-C stops what this command started. The admin token and the secret key are generated once
and kept in .run/ (mode 0600). Logs: .run/logs/{api,worker,beat}.log.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from devstack.controlplane import ControlPlane
from devstack.kube.substrate import KubeSubstrate, SubstrateBusy
from devstack.postgres import LocalPostgres
from devstack.proc import pid_alive, port_open, stop_pid
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
        "KPLANE_ADMIN_TOKEN": admin_token,
        "KPLANE_SECRET_KEY": os.environ.get("KPLANE_SECRET_KEY") or _secret("secret-key"),
        # Small, fast-starting JVMs: a laptop or CI machine, not production.
        "KPLANE_WORKER_JVM_PROFILE": os.environ.get("KPLANE_WORKER_JVM_PROFILE", "small"),
    }
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=REPO,
        env={**os.environ, **env, "KPLANE_DATABASE_URL": postgres.url},
        check=True,
    )
    (RUN / "env").write_text(
        f"export KPLANE_DATABASE_URL={postgres.url}\nexport KPLANE_REDIS_URL={redis.url}\n"
    )

    substrate: KubeSubstrate | None = KubeSubstrate(RUN / "kube")
    try:
        assert substrate is not None
        substrate.start()
        print(f"kubernetes: started (kubeconfig {substrate.kubeconfig_path})")
    except SubstrateBusy:
        substrate = None
        print(f"kubernetes: reusing the devstack under {RUN / 'kube'}")
    kubeconfig = RUN / "kube" / "kubeconfig"

    cp = ControlPlane(
        workdir=RUN / "logs",
        database_url=postgres.url,
        redis_url=redis.url,
        kubeconfig=kubeconfig,
        env=env,
        api_host=API_HOST,
        api_port=API_PORT,
    )

    def stop(*_: object) -> None:
        cp.stop_all()
        if substrate is not None:
            substrate.stop()
        for pid in reversed(started):
            stop_pid(pid, grace=15)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    cp.start_api()
    cp.start_worker()
    cp.start_beat()
    print(
        f"""
kplane API on http://{API_HOST}:{API_PORT}   (logs: {RUN / "logs"}/{{api,worker,beat}}.log)
admin token (also in .run/admin-token): {admin_token}
console: http://{API_HOST}:{API_PORT}/console/   (sign in with the admin token)
kubectl: export KUBECONFIG={kubeconfig}

  export KPLANE_TOKEN=$(cat .run/admin-token)
  curl -s -X POST "http://{API_HOST}:{API_PORT}/v1/projects?project_id=demo" \\
       -H "Authorization: Bearer $KPLANE_TOKEN" -H 'Content-Type: application/json' -d '{{}}'

The README's walkthrough continues from there. Ctrl-C stops what this command started.
""",
        flush=True,
    )
    # Run until Ctrl-C; if a kplane process dies, say so (its log says why) and stop.
    while all(pid_alive(p.pid) for p in cp.procs.values()):
        time.sleep(1.0)
    dead = [name for name, p in cp.procs.items() if not pid_alive(p.pid)]
    print(f"{', '.join(dead)} exited; see {RUN / 'logs'}", file=sys.stderr)
    stop()


if __name__ == "__main__":
    main()
