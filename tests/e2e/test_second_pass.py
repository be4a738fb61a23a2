"""A second reconcile of anything writes nothing to Kubernetes, Kafka or Postgres.

The reconcilers run here in-process against the live stack's database, apiserver and brokers,
holding the same per-cluster advisory lock the workers take (so no worker pass interleaves),
with the real adapters; their write counters, the objects' resourceVersions and the row
versions of the cluster's rows in Postgres must not move.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.core.secrets import ADMIN_USERNAME
from app.core.settings import get_settings
from tests.e2e.conftest import Cluster, Stack
from workers.adapters.kafka_admin import ConfluentAdmin
from workers.adapters.kube import PRUNABLE, HttpKube
from workers.builders import names
from workers.config import WorkerSettings
from workers.db import lock_key
from workers.outcome import Ready
from workers.reconcilers import acls, cluster, topics, users
from workers.reconcilers.context import Context


@pytest.fixture
def engine(stack: Stack) -> Iterator[Any]:
    eng = create_engine(stack.database_url.replace("+asyncpg", "+psycopg"))
    try:
        yield eng
    finally:
        eng.dispose()


def resource_versions(kube: HttpKube, namespace: str) -> dict[str, str]:
    out = {}
    for kind in PRUNABLE:
        for obj in kube.list_objects(kind, namespace):
            out[f"{kind}/{obj['metadata']['name']}"] = obj["metadata"]["resourceVersion"]
    ns = kube.get("Namespace", namespace)
    assert ns is not None
    out["Namespace"] = ns["metadata"]["resourceVersion"]
    return out


# The rows of one cluster a reconcile may write, by table. xmin is a row's version: an UPDATE
# writes a new row version even when it sets the values the row already had, so an unchanged
# xmin means the row was not written at all; a row inserted or deleted changes the key set.
_ROW_VERSIONS = {
    "clusters": "SELECT uid::text, xmin::text FROM clusters WHERE uid = :uid",
    "topics": "SELECT uid::text, xmin::text FROM topics WHERE cluster_uid = :uid",
    "acls": "SELECT uid::text, xmin::text FROM acls WHERE cluster_uid = :uid",
    "users": "SELECT uid::text, xmin::text FROM users WHERE cluster_uid = :uid",
    "operations": "SELECT uid::text, xmin::text FROM operations WHERE cluster_uid = :uid",
    "audit_logs": "SELECT id::text, xmin::text FROM audit_logs"
    " WHERE target = :name OR target LIKE :name || '/%'",
    # Every column but last_checked_time, which a pass touches once it is older than half the
    # recheck interval (the sweeper's "looked at lately"): with recheck 0, as here, every pass
    # touches it by design. Anything a client or the sweeper's due test reads is compared.
    "resource_status": "SELECT resource_uid::text, (to_jsonb(s) - 'last_checked_time')::text"
    " FROM resource_status AS s WHERE cluster_uid = :uid OR resource_uid = :uid",
}


def postgres_rows(engine: Any, uid: uuid.UUID, name: str) -> dict[str, dict[str, str]]:
    """The row versions of everything of the cluster a reconciler may write, by table."""
    with engine.connect() as conn:
        return {
            table: {
                key: version for key, version in conn.execute(text(sql), {"uid": uid, "name": name})
            }
            for table, sql in _ROW_VERSIONS.items()
        }


def rows_written(
    before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]
) -> dict[str, list[str]]:
    """By table, the keys of the rows inserted, deleted or given a new version in between."""
    written: dict[str, list[str]] = {}
    for table in before:
        keys = before[table].keys() | after[table].keys()
        if changed := sorted(k for k in keys if before[table].get(k) != after[table].get(k)):
            written[table] = changed
    return written


def test_second_reconcile_writes_nothing(stack: Stack, kafka: Cluster, engine: Any) -> None:
    # Something of every kind to reconcile.
    p = kafka.path
    stack.wait_op(
        stack.ok(
            "POST",
            f"{p}/topics",
            params={"topic_id": "idem"},
            json={"configs": {"retention.ms": "5000"}},
        )
    )
    stack.wait_op(
        stack.ok(
            "POST",
            f"{p}/users",
            params={"user_id": "idem"},
            json={"quotas": {"producer_byte_rate": 1048576, "request_percentage": 50.0}},
        )
    )
    stack.wait_op(
        stack.ok(
            "POST",
            f"{p}/acls",
            params={"acl_id": "topicPrefixed/idem"},
            json={"acl_entries": [{"principal": "User:idem", "operation": "READ"}]},
        )
    )
    body = stack.ok("GET", p)
    uid, cluster_name = uuid.UUID(body["uid"]), body["name"]
    kube = HttpKube.from_config(str(stack.substrate.kubeconfig_path))
    admins: list[ConfluentAdmin] = []

    def admin(bootstrap: str, password: str) -> ConfluentAdmin:
        client = ConfluentAdmin(bootstrap, ADMIN_USERNAME, password)
        admins.append(client)
        return client

    # recheck 0: a topic pass looks at every topic, not only those not checked lately.
    settings = WorkerSettings(jvm_profile="small", controller_memory_mib=512, recheck_seconds=0)
    namespace = names.namespace_of(uid)
    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key("cluster", uid)})
        try:
            for reconciler in (
                cluster.reconcile,
                topics.reconcile,
                acls.reconcile,
                users.reconcile,
            ):
                for attempt in ("first", "second"):
                    before = resource_versions(kube, namespace)
                    rows_before = postgres_rows(engine, uid, cluster_name)
                    kube.writes = 0
                    admins.clear()
                    with Session(engine) as session:
                        ctx = Context(
                            session=session,
                            kube=kube,
                            admin=admin,
                            settings=settings,
                            reconcile_id=f"test-{attempt}",
                            enqueue=lambda _t, _c: None,
                            secret_key=get_settings().credential_key,
                            log=logging.LoggerAdapter(logging.getLogger("test"), {}),
                        )
                        outcome = reconciler(ctx, uid)
                        session.commit()
                    assert isinstance(outcome, Ready), (reconciler.__module__, outcome)
                    if attempt == "second":
                        name = reconciler.__module__
                        assert kube.writes == 0, f"{name}: wrote to Kubernetes on a second pass"
                        assert sum(a.writes for a in admins) == 0, f"{name}: wrote to Kafka"
                        assert resource_versions(kube, namespace) == before, name
                        written = rows_written(
                            rows_before, postgres_rows(engine, uid, cluster_name)
                        )
                        assert written == {}, f"{name}: wrote to Postgres on a second pass"
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key("cluster", uid)})
            lock.commit()
            kube.close()
