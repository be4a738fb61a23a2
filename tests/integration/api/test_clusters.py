"""Clusters (app/clusters/) on real Postgres: defaults, validation, update rules, version paths,
deletion and etags."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import World
from tests.integration.api.error_body import reason, violations

pytestmark = pytest.mark.anyio

C = "/v1/projects/p/clusters/c"


async def test_cluster_defaults_and_validation(world: World) -> None:
    r = await world.call("GET", C, role="viewer")
    body = r.json()
    assert body["broker_count"] == 3 and body["controller_count"] == 3
    assert body["state"] == "CREATING" and body["reconciling"] is True
    assert body["generation"] == 1 and body["observed_generation"] == 0
    assert any(c["type"] == "Ready" for c in body["conditions"])
    bad = {
        "broker_count": 0,
        "controller_count": 2,
        "kafka_version": "0.8",
        "config": {"num.io.threads": "999", "log.flush.interval.ms": "1"},
        "broker_resources": {"cpu": 0},
        "maintenance_window": {"day_of_week": "FUNDAY", "start_time": "25:00", "duration_hours": 0},
    }
    r = await world.call("POST", "/v1/projects/p/clusters?cluster_id=bad", role="editor", json=bad)
    assert r.status_code == 400
    assert {"broker_count", "controller_count"} <= set(violations(r))
    r = await world.call(
        "POST",
        "/v1/projects/p/clusters?cluster_id=bad2",
        role="editor",
        json={"kafka_version": "0.8", "config": {"num.io.threads": "999", "nope": "1"}},
    )
    assert r.status_code == 400
    assert {"kafka_version", "config.num.io.threads", "config.nope"} <= set(violations(r))
    r = await world.call("POST", "/v1/projects/p/clusters?cluster_id=c", role="editor", json={})
    assert r.status_code == 409
    r = await world.call(
        "POST", "/v1/projects/p/clusters?cluster_id=x", role="editor", json={"surprise": 1}
    )
    assert r.status_code == 400 and "surprise" in violations(r)
    r = await world.call("POST", "/v1/projects/nope/clusters?cluster_id=x", json={})
    assert r.status_code == 404


async def test_cluster_update_rules(world: World) -> None:
    r = await world.call("PATCH", C, role="editor", json={"storage_gib": 50})
    assert r.status_code == 400 and "storage_gib" in violations(r)
    r = await world.call("PATCH", C, role="editor", json={"controller_count": 1})
    assert r.status_code == 400 and "controller_count" in violations(r)
    r = await world.call(
        "PATCH", C, role="editor", json={"storage_gib": 200, "state": "ACTIVE", "uid": "x"}
    )
    assert r.status_code == 200 and r.json()["done"] is False
    cluster = (await world.call("GET", C)).json()
    assert cluster["storage_gib"] == 200 and cluster["generation"] == 2
    # The same value again changes nothing: no new generation, the operation is done at once.
    r = await world.call("PATCH", C, role="editor", json={"storage_gib": 200})
    assert r.json()["done"] is True and r.json()["response"]["generation"] == 2
    # Labels are metadata: a new etag, but no new generation.
    r = await world.call("PATCH", C, role="editor", json={"labels": {"env": "prod"}})
    cluster2 = (await world.call("GET", C)).json()
    assert cluster2["generation"] == 2 and cluster2["etag"] != cluster["etag"]
    r = await world.call("PATCH", f"{C}?update_mask=nonsense", role="editor", json={})
    assert r.status_code == 400 and "update_mask" in violations(r)


async def test_cluster_version_change_follows_upgrade_paths(world: World) -> None:
    versions = (await world.call("GET", "/v1/kafka_versions")).json()["kafka_versions"]
    old = next(v for v in versions if v["upgradable_to"])
    r = await world.call(
        "POST",
        "/v1/projects/p/clusters?cluster_id=v",
        role="editor",
        json={"kafka_version": old["version"], "broker_count": 1},
    )
    assert r.status_code == 200
    newest = old["upgradable_to"][0]
    r = await world.call(
        "PATCH", "/v1/projects/p/clusters/v", role="editor", json={"kafka_version": newest}
    )
    assert r.status_code == 200
    r = await world.call(
        "PATCH", "/v1/projects/p/clusters/v", role="editor", json={"kafka_version": old["version"]}
    )
    assert r.status_code == 400 and r.json()["error"]["status"] == "FAILED_PRECONDITION"


async def test_cluster_delete_protection_and_scale_in_guard(world: World) -> None:
    r = await world.call(
        "POST", f"{C}/topics?topic_id=rf3", role="editor", json={"replication_factor": 3}
    )
    assert r.status_code == 200
    r = await world.call("PATCH", C, role="editor", json={"broker_count": 1})
    assert r.status_code == 400 and reason(r) == "SCALE_IN_BELOW_REPLICATION_FACTOR"
    await world.call("PATCH", C, role="editor", json={"deletion_protection": True})
    r = await world.call("DELETE", C, role="editor")
    assert r.status_code == 403
    r = await world.call("DELETE", C, role="owner")
    assert r.status_code == 400 and reason(r) == "DELETION_PROTECTED"
    await world.call("PATCH", C, role="editor", json={"deletion_protection": False})
    r = await world.call("DELETE", C, role="owner")
    assert r.status_code == 200 and r.json()["metadata"]["verb"] == "delete"
    again = await world.call("DELETE", C, role="owner")
    assert again.json()["name"] == r.json()["name"]
    assert (await world.call("GET", C)).json()["state"] == "DELETING"
    r = await world.call("PATCH", C, role="editor", json={"storage_gib": 500})
    assert r.status_code == 409 and r.json()["error"]["status"] == "ABORTED"
    r = await world.call("POST", f"{C}/topics?topic_id=late", role="editor", json={})
    assert r.status_code == 409


async def test_etags_and_conditional_requests(world: World) -> None:
    r = await world.call("GET", C)
    etag = r.json()["etag"]
    r = await world.call("GET", C, headers={"If-None-Match": f'"{etag}"'})
    assert r.status_code == 304 and not r.content
    r = await world.call(
        "PATCH", C, role="editor", json={"storage_gib": 300}, headers={"If-Match": '"stale"'}
    )
    assert r.status_code == 412 and r.json()["error"]["status"] == "FAILED_PRECONDITION"
    r = await world.call("PATCH", f"{C}?etag=stale", role="editor", json={"storage_gib": 300})
    assert r.status_code == 409 and r.json()["error"]["status"] == "ABORTED"
    r = await world.call(
        "PATCH", C, role="editor", json={"storage_gib": 300}, headers={"If-Match": f'"{etag}"'}
    )
    assert r.status_code == 200
    r = await world.call("DELETE", C, role="owner", headers={"If-Match": f'"{etag}"'})
    assert r.status_code == 412
