"""Topics (app/topics/) on real Postgres: naming, config and update rules, pagination and filters
of their list."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import World
from tests.integration.api.error_body import reason, violations

pytestmark = pytest.mark.anyio

C = "/v1/projects/p/clusters/c"


async def test_topic_rules(world: World) -> None:
    r = await world.call(
        "POST",
        f"{C}/topics?topic_id=orders.v1",
        role="editor",
        json={
            "partition_count": 3,
            "configs": {"retention.ms": "60000", "min.insync.replicas": "2"},
        },
    )
    assert r.status_code == 200
    r = await world.call("POST", f"{C}/topics?topic_id=orders_v1", role="editor", json={})
    assert r.status_code == 409 and reason(r) == "TOPIC_NAME_COLLISION"
    for bad in ("__consumer", ".", "..", "a" * 250, "has space", "ünï"):
        r = await world.call(
            "POST", f"{C}/topics", role="editor", json={}, params={"topic_id": bad}
        )
        assert r.status_code == 400, bad
    r = await world.call(
        "POST", f"{C}/topics?topic_id=big", role="editor", json={"replication_factor": 4}
    )
    assert r.status_code == 400 and "replication_factor" in violations(r)
    r = await world.call(
        "POST",
        f"{C}/topics?topic_id=cfg",
        role="editor",
        json={
            "configs": {
                "retention.ms": "soon",
                "cleanup.policy": "burn",
                "segment.bytes": 5,
                "min.insync.replicas": "4",
            }
        },
    )
    assert r.status_code == 400
    assert {
        "configs.retention.ms",
        "configs.cleanup.policy",
        "configs.segment.bytes",
        "configs.min.insync.replicas",
    } <= set(violations(r))
    t = f"{C}/topics/orders.v1"
    r = await world.call("PATCH", t, role="editor", json={"partition_count": 2})
    assert r.status_code == 400 and "partition_count" in violations(r)
    r = await world.call("PATCH", t, role="editor", json={"replication_factor": 1})
    assert r.status_code == 400 and "replication_factor" in violations(r)
    r = await world.call("PATCH", t, role="editor", json={"partition_count": 6})
    assert r.status_code == 200
    body = (await world.call("GET", t)).json()
    assert body["partition_count"] == 6 and body["generation"] == 2
    assert body["configs"] == {"retention.ms": "60000", "min.insync.replicas": "2"}
    r = await world.call(
        "PATCH",
        f"{t}?update_mask=configs",
        role="editor",
        json={"configs": {}, "partition_count": 100},
    )
    body = (await world.call("GET", t)).json()
    assert body["configs"] == {} and body["partition_count"] == 6
    r = await world.call("DELETE", t, role="editor")
    assert r.status_code == 200
    r = await world.call("GET", f"{C}/topics/missing")
    assert r.status_code == 404 and reason(r) == "TOPIC_NOT_FOUND"
    r = await world.call("GET", "/v1/projects/p/clusters/nope/topics")
    assert r.status_code == 404 and reason(r) == "CLUSTER_NOT_FOUND"


async def test_pagination(world: World) -> None:
    for i in range(7):
        await world.call(
            "POST",
            f"{C}/topics?topic_id=t{i}",
            role="editor",
            json={},
            headers={"Idempotency-Key": f"k{i}"},
        )
    seen: list[str] = []
    token = ""
    while True:
        r = await world.call("GET", f"{C}/topics", params={"page_size": 3, "page_token": token})
        assert r.status_code == 200
        seen += [t["name"].rsplit("/", 1)[1] for t in r.json()["topics"]]
        token = r.json()["next_page_token"]
        if not token:
            break
    assert seen == [f"t{i}" for i in range(7)]
    r = await world.call("GET", f"{C}/topics", params={"page_size": 3, "order_by": "name desc"})
    first = r.json()
    assert [t["name"][-2:] for t in first["topics"]] == ["t6", "t5", "t4"]
    token = first["next_page_token"]
    r = await world.call("GET", f"{C}/topics", params={"page_size": 3, "page_token": token})
    assert r.status_code == 400 and "page_token" in violations(r)
    r = await world.call(
        "GET",
        f"{C}/topics",
        params={"page_size": 3, "order_by": "name desc", "page_token": token},
        role="viewer",
    )
    assert r.status_code == 400
    tampered = token[:-2] + ("aa" if token[-2:] != "aa" else "bb")
    r = await world.call(
        "GET",
        f"{C}/topics",
        params={"page_size": 3, "order_by": "name desc", "page_token": tampered},
    )
    assert r.status_code == 400
    r = await world.call("GET", f"{C}/topics", params={"page_size": -1})
    assert r.status_code == 400
    r = await world.call("GET", f"{C}/topics", params={"page_size": 5000})
    assert r.status_code == 200 and len(r.json()["topics"]) == 7
    r = await world.call("GET", f"{C}/topics", params={"filter": 'name = "t1*"'})
    assert [t["name"][-2:] for t in r.json()["topics"]] == ["t1"]
    r = await world.call("GET", f"{C}/topics", params={"filter": "state = CREATING"})
    assert len(r.json()["topics"]) == 7
    r = await world.call("GET", f"{C}/topics", params={"filter": "colour = blue"})
    assert r.status_code == 400
    r = await world.call("GET", f"{C}/topics", params={"order_by": "partitions"})
    assert r.status_code == 400


async def test_labels_filter(world: World) -> None:
    await world.call(
        "POST", f"{C}/topics?topic_id=a", role="editor", json={"labels": {"team": "pay"}}
    )
    await world.call("POST", f"{C}/topics?topic_id=b", role="editor", json={})
    r = await world.call("GET", f"{C}/topics", params={"filter": 'labels.team = "pay"'})
    assert [t["name"][-1] for t in r.json()["topics"]] == ["a"]
    r = await world.call("GET", f"{C}/topics", params={"filter": "labels.team:*"})
    assert [t["name"][-1] for t in r.json()["topics"]] == ["a"]
    r = await world.call(
        "POST", f"{C}/topics?topic_id=c", role="editor", json={"labels": {"Bad Key": "x"}}
    )
    assert r.status_code == 400
