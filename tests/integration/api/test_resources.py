"""Happy paths and every error class of API.md, endpoint by endpoint, on real Postgres."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import World

pytestmark = pytest.mark.anyio

C = "/v1/projects/p/clusters/c"


def reason(r: object) -> str:
    body = r.json()  # type: ignore[attr-defined]
    return str(body["error"]["details"][0]["reason"])


def violations(r: object) -> dict[str, str]:
    details = r.json()["error"]["details"]  # type: ignore[attr-defined]
    found = [d for d in details if d["@type"] == "BadRequest"]
    return {v["field"]: v["description"] for v in found[0]["field_violations"]} if found else {}


async def test_project_crud(world: World) -> None:
    r = await world.call("GET", "/v1/projects/p", role="viewer")
    assert r.status_code == 200 and r.json()["name"] == "projects/p"
    assert r.headers["etag"] == f'"{r.json()["etag"]}"'
    r = await world.call("PATCH", "/v1/projects/p", role="owner", json={"display_name": "Prod"})
    assert r.status_code == 200 and r.json()["display_name"] == "Prod"
    r = await world.call("GET", "/v1/projects", role="viewer")
    assert [p["name"] for p in r.json()["projects"]] == ["projects/p"]
    r = await world.call("GET", "/v1/projects", role="admin")
    assert {p["name"] for p in r.json()["projects"]} >= {"projects/p", "projects/other"}
    r = await world.call("POST", "/v1/projects?project_id=p", json={})
    assert r.status_code == 409 and r.json()["error"]["status"] == "ALREADY_EXISTS"
    r = await world.call("POST", "/v1/projects?project_id=Bad_Id", json={})
    assert r.status_code == 400 and "project_id" in violations(r)
    r = await world.call("DELETE", "/v1/projects/p")
    assert r.status_code == 400 and reason(r) == "PROJECT_NOT_EMPTY"
    r = await world.call("POST", "/v1/projects?project_id=empty", json={})
    r = await world.call("DELETE", "/v1/projects/empty")
    assert r.status_code == 200
    r = await world.call("GET", "/v1/projects/empty")
    assert r.status_code == 404 and reason(r) == "PROJECT_NOT_FOUND"


async def test_tokens(world: World) -> None:
    r = await world.call(
        "POST", "/v1/projects/p/tokens?token_id=ci", role="owner", json={"role": "editor"}
    )
    assert r.status_code == 200
    secret = r.json()["secret"]
    r = await world.call("GET", "/v1/projects/p/tokens/ci", role="owner")
    assert r.status_code == 200 and "secret" not in r.json()
    r = await world.call("GET", "/v1/projects/p/tokens", role="owner")
    assert "secret" not in r.text and len(r.json()["tokens"]) == 4
    r = await world.client.get(f"{C}/topics", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200
    r = await world.call(
        "POST", "/v1/projects/p/tokens?token_id=x", role="owner", json={"role": "god"}
    )
    assert r.status_code == 400 and "role" in violations(r)
    r = await world.call("DELETE", "/v1/projects/p/tokens/ci", role="owner")
    assert r.status_code == 200
    r = await world.client.get(f"{C}/topics", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401


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


async def test_acls(world: World) -> None:
    entry = {"principal": "User:alice", "operation": "READ"}
    r = await world.call(
        "POST", f"{C}/acls?acl_id=topic/orders", role="editor", json={"acl_entries": [entry]}
    )
    assert r.status_code == 200
    a = f"{C}/acls/topic/orders"
    acl = (await world.call("GET", a)).json()
    assert acl["resource_type"] == "TOPIC" and acl["pattern_type"] == "LITERAL"
    assert acl["acl_entries"] == [{**entry, "permission_type": "ALLOW", "host": "*"}]
    r = await world.call("PATCH", a, role="editor", json={"acl_entries": []})
    assert r.status_code == 400 and reason(r) == "ETAG_REQUIRED"
    r = await world.call(
        "POST",
        f"{a}:addAclEntry",
        role="editor",
        json={"acl_entry": {"principal": "User:bob", "operation": "WRITE"}},
    )
    assert r.status_code == 200 and r.json()["done"] is False
    r = await world.call(
        "POST",
        f"{a}:addAclEntry",
        role="editor",
        json={"acl_entry": {"principal": "User:bob", "operation": "WRITE"}},
    )
    assert r.json()["done"] is True
    assert len((await world.call("GET", a)).json()["acl_entries"]) == 2
    r = await world.call(
        "POST",
        f"{a}:removeAclEntry",
        role="editor",
        json={"acl_entry": {"principal": "User:carol", "operation": "READ"}},
    )
    assert r.status_code == 404 and reason(r) == "ACL_ENTRY_NOT_FOUND"
    r = await world.call("POST", f"{a}:removeAclEntry", role="editor", json={"acl_entry": entry})
    assert r.status_code == 200
    cur = (await world.call("GET", a)).json()
    r = await world.call(
        "PATCH", a, role="editor", json={"acl_entries": [entry], "etag": cur["etag"]}
    )
    assert r.status_code == 200
    r = await world.call("PATCH", a, role="editor", json={"acl_entries": [], "etag": cur["etag"]})
    assert r.status_code == 409
    r = await world.call(
        "POST",
        f"{C}/acls?acl_id=consumerGroup/g",
        role="editor",
        json={"acl_entries": [{"principal": "User:a", "operation": "WRITE"}]},
    )
    assert r.status_code == 400 and "acl_entries[0].operation" in violations(r)
    for bad in ("table/x", "topic/", "topic/a:b", "everything"):
        r = await world.call("POST", f"{C}/acls", role="editor", json={}, params={"acl_id": bad})
        assert r.status_code == 400, bad
    r = await world.call(
        "POST",
        f"{C}/acls?acl_id=cluster",
        role="editor",
        json={"acl_entries": [{"principal": "alice", "operation": "ALTER", "host": "nowhere"}]},
    )
    assert {"acl_entries[0].principal", "acl_entries[0].host"} <= set(violations(r))
    r = await world.call("GET", f"{C}/acls?filter=resource_type = TOPIC")
    assert [x["name"].rsplit("/acls/", 1)[1] for x in r.json()["acls"]] == ["topic/orders"]
    assert (await world.call("DELETE", a, role="editor")).status_code == 200


async def test_users_and_passwords(world: World) -> None:
    r = await world.call(
        "POST",
        f"{C}/users?user_id=alice",
        role="editor",
        json={"quotas": {"producer_byte_rate": 1048576}},
    )
    assert r.status_code == 200
    password = r.json()["password"]
    assert len(password) == 32
    u = f"{C}/users/alice"
    body = (await world.call("GET", u)).json()
    assert body["principal"] == "User:alice" and "password" not in body
    assert body["quotas"] == {"producer_byte_rate": 1048576}
    r = await world.call(
        "POST", f"{C}/users?user_id=bob", role="editor", json={"password": "short"}
    )
    assert r.status_code == 400 and "password" in violations(r)
    assert "short" not in r.text
    r = await world.call(
        "POST",
        f"{C}/users?user_id=carol",
        role="editor",
        json={"password": "a-long-client-chosen-secret"},
    )
    assert r.json()["password"] == "a-long-client-chosen-secret"
    r = await world.call("POST", f"{u}:rotatePassword", role="editor", json={})
    assert r.status_code == 200 and r.json()["password"] != password
    assert (await world.call("GET", u)).json()["generation"] == 2
    r = await world.call("PATCH", u, role="editor", json={"password": "another-long-secret"})
    assert r.status_code == 400
    r = await world.call("PATCH", u, role="editor", json={"quotas": {"request_percentage": 50.0}})
    assert r.status_code == 200
    assert (await world.call("GET", u)).json()["quotas"] == {"request_percentage": 50.0}


async def test_operations(world: World) -> None:
    r = await world.call("POST", f"{C}/topics?topic_id=t", role="editor", json={})
    op = r.json()
    op_path = "/v1/" + op["name"]
    r = await world.call("GET", op_path, role="viewer")
    assert r.status_code == 200 and r.json()["done"] is False
    r = await world.call("GET", f"{op_path}?wait_seconds=0.3", role="viewer")
    assert r.status_code == 200 and r.json()["done"] is False
    r = await world.call("GET", f"{op_path}?wait_seconds=61", role="viewer")
    assert r.status_code == 400
    r = await world.call("GET", "/v1/projects/p/operations?filter=done = false", role="viewer")
    assert op["name"] in [o["name"] for o in r.json()["operations"]]
    r = await world.call(
        "GET",
        "/v1/projects/p/operations",
        params={"filter": 'target = "projects/p/clusters/c/topics/*"'},
    )
    assert [o["name"] for o in r.json()["operations"]] == [op["name"]]
    r = await world.call("POST", f"{op_path}:cancel", role="viewer")
    assert r.status_code == 403
    r = await world.call("POST", f"{op_path}:cancel", role="editor")
    assert r.status_code == 200 and r.json()["metadata"]["cancel_requested"] is True
    r = await world.call("GET", "/v1/projects/p/operations/op-missing")
    assert r.status_code == 404


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


async def test_request_errors(world: World) -> None:
    r = await world.call(
        "POST",
        f"{C}/topics?topic_id=x",
        role="editor",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    big = b'{"labels": {"a": "' + b"x" * (1024 * 1024) + b'"}}'
    r = await world.call(
        "POST",
        f"{C}/topics?topic_id=x",
        role="editor",
        content=big,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == 413
    r = await world.call("PUT", C, role="editor", json={})
    assert r.status_code == 405 and "error" in r.json()
    r = await world.call("GET", "/v1/nothing/here")
    assert r.status_code == 404 and "error" in r.json()
    r = await world.call(
        "POST", f"{C}/topics?topic_id=x&request_id=not-a-uuid", role="editor", json={}
    )
    assert r.status_code == 400 and "request_id" in violations(r)


async def test_audit_log(world: World) -> None:
    await world.call(
        "POST",
        f"{C}/topics",
        role="editor",
        json={},
        params={"topic_id": "audited", "request_id": "0b6f4a4e-9d8a-4f7e-8f43-3d2b1f7c9a10"},
    )
    await world.call("DELETE", C, role="viewer")
    await world.call("GET", C, role="wrong")
    r = await world.call("GET", "/v1/projects/p/audit_logs", role="owner")
    records = r.json()["audit_logs"]
    created = next(x for x in records if x["action"] == "createTopic")
    assert created["principal"] == "projects/p/tokens/editor"
    assert created["request_id"] == "0b6f4a4e-9d8a-4f7e-8f43-3d2b1f7c9a10"
    assert created["result_code"] == 200 and created["target"].endswith("/topics/audited")
    denied = next(x for x in records if x["action"] == "deleteCluster")
    assert denied["result_code"] == 403 and denied["principal"] == "projects/p/tokens/viewer"
    unauth = next(x for x in records if x["result_code"] == 401)
    assert unauth["principal"] == "anonymous"
    r = await world.call("GET", "/v1/projects/p/audit_logs", role="editor")
    assert r.status_code == 403
    r = await world.call(
        "GET", "/v1/projects/p/audit_logs", role="owner", params={"filter": "action = createTopic"}
    )
    assert {x["action"] for x in r.json()["audit_logs"]} == {"createTopic"}


async def test_idempotency_in_process(world: World) -> None:
    key = {"Idempotency-Key": "same-key"}
    first = await world.call(
        "POST", f"{C}/topics?topic_id=idem", role="editor", json={}, headers=key
    )
    again = await world.call(
        "POST", f"{C}/topics?topic_id=idem", role="editor", json={}, headers=key
    )
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    other = await world.call(
        "POST", f"{C}/topics?topic_id=idem", role="editor", json={"partition_count": 2}, headers=key
    )
    assert other.status_code == 422 and reason(other) == "IDEMPOTENCY_KEY_REUSED"
    # A user-create replay returns the same password: stored encrypted, never in clear.
    u1 = await world.call(
        "POST", f"{C}/users?user_id=dave", role="editor", json={}, headers={"Idempotency-Key": "u"}
    )
    u2 = await world.call(
        "POST", f"{C}/users?user_id=dave", role="editor", json={}, headers={"Idempotency-Key": "u"}
    )
    assert u1.json()["password"] == u2.json()["password"]


async def test_kafka_versions(world: World) -> None:
    r = await world.call("GET", "/v1/kafka_versions", role="viewer")
    versions = r.json()["kafka_versions"]
    assert sum(v["default"] for v in versions) == 1
    assert all({"version", "upgradable_to", "default"} <= v.keys() for v in versions)
    assert (await world.call("GET", "/v1/kafka_versions", role="none")).status_code == 401


async def test_rate_limit_answers_429_with_retry_after(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core import auth
    from app.core.settings import get_settings

    monkeypatch.setattr(get_settings(), "rate_limit_per_second", 0.5)
    monkeypatch.setattr(get_settings(), "rate_limit_burst", 3)
    auth._buckets.clear()
    codes = [(await world.call("GET", C, role="viewer")).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    r = await world.call("GET", C, role="viewer")
    assert r.status_code == 429
    assert r.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert int(r.headers["retry-after"]) >= 1
    # Another caller has its own budget.
    assert (await world.call("GET", C, role="editor")).status_code == 200
    auth._buckets.clear()
