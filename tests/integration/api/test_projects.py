"""Projects, their tokens, audit logs and the Kafka versions list (app/projects/), on real
Postgres."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import World
from tests.integration.api.error_body import reason, violations

pytestmark = pytest.mark.anyio

C = "/v1/projects/p/clusters/c"


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


async def test_kafka_versions(world: World) -> None:
    r = await world.call("GET", "/v1/kafka_versions", role="viewer")
    versions = r.json()["kafka_versions"]
    assert sum(v["default"] for v in versions) == 1
    assert all({"version", "upgradable_to", "default"} <= v.keys() for v in versions)
    assert (await world.call("GET", "/v1/kafka_versions", role="none")).status_code == 401
