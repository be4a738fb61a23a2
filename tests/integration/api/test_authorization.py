"""Every route x {no token, wrong token, viewer, editor, owner, another project's token}.

Permission is checked before existence: a caller without access gets 403 for a path under a
project it cannot see whether or not the target exists.
"""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import World

pytestmark = pytest.mark.anyio

C = "/v1/projects/p/clusters/c"
ROLES = ("none", "wrong", "viewer", "editor", "owner", "other")
# (method, path, minimal role) — the role needed to get past authorization.
ROUTES = [
    ("GET", "/v1/projects/p", "viewer"),
    ("PATCH", "/v1/projects/p", "owner"),
    ("DELETE", "/v1/projects/p", "admin"),
    ("POST", "/v1/projects?project_id=newp", "admin"),
    ("POST", "/v1/projects/p/tokens?token_id=t9", "owner"),
    ("GET", "/v1/projects/p/tokens", "owner"),
    ("GET", "/v1/projects/p/tokens/viewer", "owner"),
    ("PATCH", "/v1/projects/p/tokens/viewer", "owner"),
    ("DELETE", "/v1/projects/p/tokens/t-missing", "owner"),
    ("GET", "/v1/projects/p/audit_logs", "owner"),
    ("POST", "/v1/projects/p/clusters?cluster_id=c2", "editor"),
    ("GET", "/v1/projects/p/clusters", "viewer"),
    ("GET", C, "viewer"),
    ("PATCH", C, "editor"),
    ("DELETE", "/v1/projects/p/clusters/missing", "owner"),
    ("POST", f"{C}/topics?topic_id=t", "editor"),
    ("POST", f"{C}/topics:batchCreate", "editor"),
    ("GET", f"{C}/topics", "viewer"),
    ("GET", f"{C}/topics/missing", "viewer"),
    ("PATCH", f"{C}/topics/missing", "editor"),
    ("DELETE", f"{C}/topics/missing", "editor"),
    ("POST", f"{C}/acls?acl_id=topic/x", "editor"),
    ("GET", f"{C}/acls", "viewer"),
    ("GET", f"{C}/acls/topic/missing", "viewer"),
    ("PATCH", f"{C}/acls/topic/missing?etag=x", "editor"),
    ("DELETE", f"{C}/acls/topic/missing", "editor"),
    ("POST", f"{C}/acls/topic/missing:addAclEntry", "editor"),
    ("POST", f"{C}/acls/topic/missing:removeAclEntry", "editor"),
    ("POST", f"{C}/users?user_id=u", "editor"),
    ("GET", f"{C}/users", "viewer"),
    ("GET", f"{C}/users/missing", "viewer"),
    ("PATCH", f"{C}/users/missing", "editor"),
    ("DELETE", f"{C}/users/missing", "editor"),
    ("POST", f"{C}/users/missing:rotatePassword", "editor"),
    ("GET", "/v1/projects/p/operations", "viewer"),
    ("GET", "/v1/projects/p/operations/op-missing", "viewer"),
    ("POST", "/v1/projects/p/operations/op-missing:cancel", "editor"),
]
RANK = {"viewer": 1, "editor": 2, "owner": 3, "admin": 4}
BODIES = {
    "acls": {"principal": "User:a", "operation": "READ"},
    "batch": {"requests": [{"topic_id": "t"}]},
}


def expected(role: str, needed: str) -> set[int]:
    if role in ("none", "wrong"):
        return {401}
    if role == "other" or RANK[role] < RANK[needed]:
        return {403}
    return {200, 400, 404, 409}  # past authorization: the request itself decides


@pytest.mark.parametrize(("method", "path", "needed"), ROUTES)
async def test_authorization_matrix(world: World, method: str, path: str, needed: str) -> None:
    body = BODIES["acls"] if "AclEntry" in path else BODIES["batch"] if ":batch" in path else {}
    for role in ROLES:
        kw = {"json": body} if method in ("POST", "PATCH") else {}
        r = await world.call(method, path, role=role, **kw)
        assert r.status_code in expected(role, needed), (role, r.status_code, r.text)
        assert r.json()["error"]["status"] if r.status_code >= 400 else True


async def test_403_before_404_for_missing_projects(world: World) -> None:
    for path in (
        "/v1/projects/ghost",
        "/v1/projects/ghost/clusters/x/topics/y",
        "/v1/projects/ghost/operations/op-1",
    ):
        r = await world.call("GET", path, role="owner")
        assert r.status_code == 403, path
        r = await world.call("GET", path, role="admin")
        assert r.status_code == 404, path
