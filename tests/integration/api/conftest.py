"""API fixtures: the app in-process over ASGI, on a database of its own per test — a copy of one
migrated template, which Postgres makes in a few milliseconds — through the pool the app's
lifespan would open."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.auth import forget_cached_tokens
from app.core.pools import make_pool
from app.main import create_app
from devstack.postgres import LocalPostgres
from tests.conftest import migrate

ADMIN = {"Authorization": "Bearer test-admin-token-0123456789"}
_TEMPLATE = "kplane_api_template"
_numbers = itertools.count()


@pytest.fixture(scope="session")
def template(postgres: LocalPostgres) -> str:
    """A migrated database that each test's database is copied from."""
    migrate(postgres.create_database(_TEMPLATE))
    return _TEMPLATE


@pytest.fixture
def database_url(postgres: LocalPostgres, template: str) -> Iterator[str]:
    """A fresh migrated database for one test, dropped afterwards."""
    name = f"kplane_api_{next(_numbers)}"
    url = postgres.copy_database(template, name)
    yield url
    postgres.drop_database(name)


@pytest.fixture(scope="session")
def app() -> FastAPI:
    return create_app()


@pytest.fixture
async def client(database_url: str, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    forget_cached_tokens()
    app.state.pool = await make_pool(database_url, size=4)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kplane") as c:
            yield c
    finally:
        await app.state.pool.close()


async def live_project(client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    """A new project with a 3-broker cluster `c` on a live server; returns the project id."""
    project = f"p{uuid.uuid4().hex[:10]}"
    r = await client.post(f"/v1/projects?project_id={project}", json={}, headers=admin)
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/v1/projects/{project}/clusters?cluster_id=c", json={"broker_count": 3}, headers=admin
    )
    assert r.status_code == 200, r.text
    return project


@dataclass
class World:
    """A project with one token per role, a cluster, and a second project for isolation."""

    client: httpx.AsyncClient
    tokens: dict[str, dict[str, str]]

    async def call(self, method: str, path: str, role: str = "admin", **kw: Any) -> httpx.Response:
        headers = {**self.tokens.get(role, {}), **kw.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kw)


async def make_project(client: httpx.AsyncClient, project: str) -> dict[str, dict[str, str]]:
    r = await client.post(f"/v1/projects?project_id={project}", json={}, headers=ADMIN)
    assert r.status_code == 200, r.text
    tokens = {}
    for role in ("viewer", "editor", "owner"):
        r = await client.post(
            f"/v1/projects/{project}/tokens?token_id={role}", json={"role": role}, headers=ADMIN
        )
        assert r.status_code == 200, r.text
        tokens[role] = {"Authorization": f"Bearer {r.json()['secret']}"}
    return tokens


@pytest.fixture
async def world(client: httpx.AsyncClient) -> World:
    tokens = await make_project(client, "p")
    other = await make_project(client, "other")
    tokens["admin"] = ADMIN
    tokens["other"] = other["owner"]
    tokens["none"] = {}
    tokens["wrong"] = {"Authorization": "Bearer kpt_not-a-real-token"}
    r = await client.post(
        "/v1/projects/p/clusters?cluster_id=c", json={"broker_count": 3}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
    return World(client, tokens)
