"""topics:batchCreate: all or none, every entry validated like a single create, one Operation per
topic in request order, one reconcile message, the whole response replayed for a repeated key."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import LiveApi
from tests.integration.api.conftest import World, live_project

pytestmark = pytest.mark.anyio

C = "/v1/projects/p/clusters/c"
BATCH = f"{C}/topics:batchCreate"


def entries(*names: str, **topic: Any) -> dict[str, Any]:
    return {"requests": [{"topic_id": n, "topic": dict(topic)} for n in names]}


def violations(r: httpx.Response) -> dict[str, str]:
    details = r.json()["error"]["details"]
    found = [d for d in details if d["@type"] == "BadRequest"]
    return {v["field"]: v["description"] for v in found[0]["field_violations"]} if found else {}


def reason(r: httpx.Response) -> str:
    return str(r.json()["error"]["details"][0]["reason"])


async def topic_names(world: World) -> list[str]:
    r = await world.call("GET", f"{C}/topics", params={"page_size": 1000})
    return [t["name"].rsplit("/", 1)[1] for t in r.json()["topics"]]


async def test_happy_path_in_request_order(world: World) -> None:
    body = {
        "requests": [
            {"topic_id": "zeta", "topic": {"partition_count": 6, "configs": {"retention.ms": "1"}}},
            {"topic_id": "alpha", "topic": {"replication_factor": 1, "labels": {"team": "pay"}}},
            {"topic_id": "mid.dle"},
        ]
    }
    r = await world.call("POST", BATCH, role="editor", json=body)
    assert r.status_code == 200, r.text
    ops = r.json()["operations"]
    assert [op["metadata"]["target"] for op in ops] == [
        f"projects/p/clusters/c/topics/{n}" for n in ("zeta", "alpha", "mid.dle")
    ]
    assert all(op["metadata"]["verb"] == "create" and not op["done"] for op in ops)
    assert len({op["name"] for op in ops}) == 3
    zeta = (await world.call("GET", f"{C}/topics/zeta")).json()
    assert zeta["partition_count"] == 6 and zeta["configs"] == {"retention.ms": "1"}
    alpha = (await world.call("GET", f"{C}/topics/alpha")).json()
    assert alpha["replication_factor"] == 1 and alpha["labels"] == {"team": "pay"}
    assert alpha["state"] == "CREATING"
    r = await world.call("GET", ops[1]["name"].replace("projects/", "/v1/projects/", 1))
    assert r.status_code == 200 and r.json()["metadata"]["target"].endswith("/topics/alpha")
    r = await world.call(
        "GET",
        "/v1/projects/p/audit_logs",
        role="owner",
        params={"filter": "action = batchCreateTopics"},
    )
    assert sorted(x["target"].rsplit("/", 1)[1] for x in r.json()["audit_logs"]) == [
        "alpha",
        "mid.dle",
        "zeta",
    ]


async def test_a_thousand_topics_in_one_call(world: World) -> None:
    names = [f"t{i:04d}" for i in range(1000)]
    started = time.perf_counter()
    r = await world.call("POST", BATCH, role="editor", json=entries(*names, partition_count=3))
    elapsed = time.perf_counter() - started
    assert r.status_code == 200, r.text
    ops = r.json()["operations"]
    assert [op["metadata"]["target"].rsplit("/", 1)[1] for op in ops] == names
    assert sorted(await topic_names(world)) == names
    assert elapsed < 30  # generous: a shared two-core machine; bench figures: docs/benchmarks.md


async def test_every_entry_is_validated_and_nothing_is_written(world: World) -> None:
    body = {
        "requests": [
            {"topic_id": "ok"},
            {"topic_id": "__internal"},
            {"topic_id": "big", "topic": {"replication_factor": 4}},
            {"topic_id": "cfg", "topic": {"configs": {"no.such.config": "1"}}},
            {
                "topic_id": "isr",
                "topic": {"replication_factor": 2, "configs": {"min.insync.replicas": "3"}},
            },
            {"topic_id": "lab", "topic": {"labels": {"Bad Key": "x"}}},
        ]
    }
    r = await world.call("POST", BATCH, role="editor", json=body)
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    found = violations(r)
    assert "requests[1].topic_id" in found
    assert "requests[2].topic.replication_factor" in found
    assert "requests[3].topic.configs.no.such.config" in found
    assert "requests[4].topic.configs.min.insync.replicas" in found
    assert "requests[5].topic.labels.Bad Key" in found
    assert not any(f.startswith("requests[0]") for f in found)
    assert await topic_names(world) == []


async def test_schema_violations_name_the_entry(world: World) -> None:
    body = {"requests": [{"topic_id": "a"}, {"topic_id": "b", "topic": {"partition_count": 0}}]}
    r = await world.call("POST", BATCH, role="editor", json=body)
    assert r.status_code == 400 and "requests[1].topic.partition_count" in violations(r)
    r = await world.call(
        "POST", BATCH, role="editor", json={"requests": [{"topic_id": "a", "x": 1}]}
    )
    assert r.status_code == 400 and "requests[0].x" in violations(r)
    bad_bodies: list[dict[str, Any]] = [
        {"requests": []},
        {},
        {"requests": [{"topic": {}}]},
        {"requests": "a"},
    ]
    for bad in bad_bodies:
        r = await world.call("POST", BATCH, role="editor", json=bad)
        assert r.status_code == 400, (bad, r.text)
    r = await world.call(
        "POST", BATCH, role="editor", json=entries(*[f"t{i}" for i in range(1001)])
    )
    assert r.status_code == 400 and "requests" in violations(r)
    assert await topic_names(world) == []


async def test_duplicates_and_collisions_inside_the_batch(world: World) -> None:
    r = await world.call(
        "POST", BATCH, role="editor", json=entries("a", "orders.v1", "a", "orders_v1")
    )
    assert r.status_code == 400
    found = violations(r)
    assert found["requests[2].topic_id"] == "repeats requests[0].topic_id"
    assert found["requests[3].topic_id"].startswith("collides with requests[1].topic_id")
    assert set(found) == {"requests[2].topic_id", "requests[3].topic_id"}
    assert await topic_names(world) == []


async def test_existing_topics_are_409_naming_them(world: World) -> None:
    for name in ("orders", "pay.ments"):
        r = await world.call("POST", f"{C}/topics?topic_id={name}", role="editor", json={})
        assert r.status_code == 200
    r = await world.call("POST", BATCH, role="editor", json=entries("new", "orders"))
    assert r.status_code == 409 and r.json()["error"]["status"] == "ALREADY_EXISTS"
    assert reason(r) == "TOPIC_ALREADY_EXISTS" and "orders" in r.json()["error"]["message"]
    assert r.json()["error"]["details"][0]["metadata"] == {"topic_ids": "orders"}
    r = await world.call("POST", BATCH, role="editor", json=entries("new", "pay_ments"))
    assert r.status_code == 409 and reason(r) == "TOPIC_NAME_COLLISION"
    assert "'pay_ments' with 'pay.ments'" in r.json()["error"]["message"]
    assert sorted(await topic_names(world)) == ["orders", "pay.ments"]


async def test_cluster_missing_or_being_deleted(world: World) -> None:
    r = await world.call(
        "POST", "/v1/projects/p/clusters/nope/topics:batchCreate", role="editor", json=entries("a")
    )
    assert r.status_code == 404
    r = await world.call("DELETE", C, role="owner")
    assert r.status_code == 200, r.text
    r = await world.call("POST", BATCH, role="editor", json=entries("a"))
    assert r.status_code == 409 and reason(r) == "CLUSTER_DELETING"


async def test_idempotent_replay_returns_the_whole_response(world: World) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await world.call("POST", BATCH, role="editor", json=entries("a", "b"), headers=key)
    again = await world.call("POST", BATCH, role="editor", json=entries("a", "b"), headers=key)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and len(first.json()["operations"]) == 2
    other = await world.call("POST", BATCH, role="editor", json=entries("a", "c"), headers=key)
    assert other.status_code == 422 and reason(other) == "IDEMPOTENCY_KEY_REUSED"
    assert sorted(await topic_names(world)) == ["a", "b"]


async def test_bodies_over_one_mib_are_413(world: World) -> None:
    big = entries(*[f"t{i}" for i in range(1000)], labels={"k": "v" * 63})
    big["requests"][0]["topic"]["configs"] = {"cleanup.policy": "x" * (1 << 20)}
    r = await world.call("POST", BATCH, role="editor", json=big)
    assert r.status_code == 413 and r.json()["error"]["status"] == "PAYLOAD_TOO_LARGE"


async def test_one_thousand_topics_send_one_reconcile_message(live_api: LiveApi) -> None:
    """Against the real server and Redis: one message for the whole batch, after commit."""
    import redis

    queue = redis.Redis.from_url(live_api.redis_url)
    async with httpx.AsyncClient(base_url=live_api.base_url, timeout=60) as c:
        project = await live_project(c, live_api.admin)
        cluster_uid = (
            await c.get(f"/v1/projects/{project}/clusters/c", headers=live_api.admin)
        ).json()["uid"]
        before = queue.llen("kplane")
        names = [f"bulk-{i}" for i in range(1000)]
        r = await c.post(
            f"/v1/projects/{project}/clusters/c/topics:batchCreate",
            json=entries(*names),
            headers=live_api.admin,
        )
        assert r.status_code == 200, r.text
    # The broker pushes at the head of the list: the newest messages come first.
    messages = queue.lrange("kplane", 0, queue.llen("kplane") - before - 1)
    reconciles = [m for m in messages if b'"topics.reconcile"' in m]
    assert len(reconciles) == 1 and cluster_uid.encode() in reconciles[0]
    with psycopg.connect(live_api.database_url.replace("+asyncpg", "")) as db:
        counts = db.execute(
            "SELECT (SELECT count(*) FROM topics WHERE project_id = %s), "
            "(SELECT count(*) FROM operations WHERE project_id = %s AND kind = 'topic'), "
            "(SELECT count(*) FROM audit_logs WHERE project_id = %s "
            "AND action = 'batchCreateTopics')",
            (project, project, project),
        ).fetchone()
    assert counts == (1000, 1000, 1000)
