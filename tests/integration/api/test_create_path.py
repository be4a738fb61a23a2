"""A create reads without a transaction and writes in one statement that holds what it read: if
the cluster changed between the create's read and its write, nothing is written and the create
reads and validates again. Real Postgres; the cluster is changed between the two, never with
sleeps. The statement itself is tested in tests/integration/core/test_unit.py."""

from __future__ import annotations

from typing import Any

import pytest

from app.clusters import repository as clusters
from app.core.unit import Claim, Unit, land
from tests.integration.api.conftest import World

pytestmark = pytest.mark.anyio

C = "/v1/projects/p/clusters/c"


def change_cluster_after_read(monkeypatch: pytest.MonkeyPatch, change: str) -> list[int]:
    """Make the next create find its cluster changed by the UPDATE `change` (SET ...) at its
    write: the UPDATE runs on the create's own connection right after the create read the
    cluster. Returns the cluster versions each read of the create held."""
    holds: list[int] = []
    original = clusters.get
    pending: list[tuple[Any, Any]] = []

    async def get(connection: Any, project_id: str, cluster_id: str) -> Any:
        found = await original(connection, project_id, cluster_id)
        assert found is not None
        holds.append(found[0].version)
        if len(holds) == 1:
            pending.append((connection, found[0].uid))
        return found

    async def land_after_change(unit: Unit, claim: Claim | None = None) -> Any:
        while pending:
            connection, uid = pending.pop()
            sql = f"UPDATE clusters SET {change}, version = version + 1 WHERE uid = $1"
            await connection.execute(sql, uid)
        return await land(unit, claim)

    monkeypatch.setattr(clusters, "get", get)
    monkeypatch.setattr("app.core.boundary.land", land_after_change)
    return holds


async def test_a_cluster_deleted_between_read_and_write_gets_no_topic(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    holds = change_cluster_after_read(monkeypatch, "delete_time = now()")
    r = await world.call("POST", f"{C}/topics?topic_id=late", role="editor", json={})
    assert r.status_code == 409 and r.json()["error"]["details"][0]["reason"] == (
        "CLUSTER_DELETING"
    ), r.text
    assert len(holds) == 2, "the write found the cluster changed, and the create read it again"
    r = await world.call("GET", f"{C}/topics/late")
    assert r.status_code == 404


async def test_a_cluster_shrunk_between_read_and_write_is_validated_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    holds = change_cluster_after_read(monkeypatch, "broker_count = 1")
    r = await world.call(
        "POST", f"{C}/topics?topic_id=wide", role="editor", json={"replication_factor": 3}
    )
    assert r.status_code == 400, r.text
    assert "replication_factor" in r.text
    assert holds[1] == holds[0] + 1, "validated again against the changed cluster"
    r = await world.call("GET", f"{C}/topics/wide")
    assert r.status_code == 404
