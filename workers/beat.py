"""`python -m workers.beat`: Celery beat, run only by the replica that holds the leader lock.

Any number of replicas may run this (the Helm chart runs two). Each tries a Postgres advisory
lock on a connection of its own; the holder runs `celery beat` as a child process, the others
wait and retry. The lock is tied to the connection, so a dead leader's lock vanishes with its
TCP session and a standby takes over within one retry interval. The leader checks its
connection every few seconds and stops beat the moment it is lost (no two beats at once).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from types import FrameType

from sqlalchemy import text

from workers import db

log = logging.getLogger("kplane.beat")
RETRY_SECONDS = 5.0
LOCK_SCOPE = "beat-leader"


def _beat_command(workdir: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "beat",
        "--loglevel",
        os.environ.get("KPLANE_LOG_LEVEL", "INFO"),
        "--schedule",
        os.path.join(workdir, "celerybeat-schedule"),
    ]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stopping = {"flag": False}

    def stop(signum: int, _: FrameType | None) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    key = db.lock_key(LOCK_SCOPE, "0")
    with tempfile.TemporaryDirectory(prefix="kplane-beat-") as workdir:
        while not stopping["flag"]:
            try:
                with db.engine().connect() as conn:
                    held = conn.execute(
                        text("SELECT pg_try_advisory_lock(:k)"), {"k": key}
                    ).scalar()
                    conn.commit()
                    if not held:
                        time.sleep(RETRY_SECONDS)  # a standby: nothing to do until the leader goes
                        continue
                    log.info("leader: starting celery beat")
                    child = subprocess.Popen(_beat_command(workdir))
                    try:
                        while not stopping["flag"] and child.poll() is None:
                            time.sleep(1.0)
                            conn.execute(text("SELECT 1"))  # the lock lives as long as this
                            conn.commit()
                    finally:
                        if child.poll() is None:
                            child.terminate()
                            try:
                                child.wait(timeout=10)
                            except subprocess.TimeoutExpired:
                                child.kill()
                                child.wait()
                        log.info("leader: celery beat stopped")
            except Exception:
                log.exception("beat leader election failed; retrying")
                time.sleep(RETRY_SECONDS)


if __name__ == "__main__":
    main()
