"""ACLs (app/acls/): patterns, entries, the entry verbs and etags, on real Postgres."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import World
from tests.integration.api.error_body import reason, violations

pytestmark = pytest.mark.anyio

C = "/v1/projects/p/clusters/c"


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
        json={"principal": "User:bob", "operation": "WRITE"},
    )
    assert r.status_code == 200 and r.json()["done"] is False
    r = await world.call(
        "POST",
        f"{a}:addAclEntry",
        role="editor",
        json={"principal": "User:bob", "operation": "WRITE"},
    )
    assert r.json()["done"] is True
    assert len((await world.call("GET", a)).json()["acl_entries"]) == 2
    r = await world.call(
        "POST",
        f"{a}:removeAclEntry",
        role="editor",
        json={"principal": "User:carol", "operation": "READ"},
    )
    assert r.status_code == 404 and reason(r) == "ACL_ENTRY_NOT_FOUND"
    r = await world.call("POST", f"{a}:removeAclEntry", role="editor", json=entry)
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


async def test_add_entry_creates_the_acl_and_removing_the_last_deletes_it(world: World) -> None:
    a = f"{C}/acls/topicPrefixed/billing-"
    entry = {"principal": "User:billing", "operation": "WRITE"}
    assert (await world.call("GET", a)).status_code == 404
    r = await world.call("POST", f"{a}:addAclEntry", role="editor", json=entry)
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["verb"] == "create"
    acl = (await world.call("GET", a)).json()
    assert acl["pattern_type"] == "PREFIXED" and acl["resource_name"] == "billing-"
    assert acl["acl_entries"] == [{**entry, "permission_type": "ALLOW", "host": "*"}]
    r = await world.call("POST", f"{a}:addAclEntry", role="editor", json={"acl_entry": entry})
    assert r.status_code == 400, "the entry itself is the body, with no wrapper"
    r = await world.call("POST", f"{a}:removeAclEntry", role="editor", json=entry)
    assert r.status_code == 200 and r.json()["metadata"]["verb"] == "delete", r.text
    assert (await world.call("GET", a)).json()["state"] == "DELETING"
