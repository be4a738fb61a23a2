"""API fixtures: the app in-process over ASGI, its session bound to one connection whose outer
transaction is rolled back after each test (the app's commits become savepoint releases)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.core.auth import forget_cached_tokens
from app.core.db import SingleConnectionPool, make_sessionmaker
from app.main import create_app
from devstack.postgres import LocalPostgres

ADMIN = {"Authorization": "Bearer test-admin-token-0123456789"}


@pytest.fixture(scope="session")
async def engine(postgres: LocalPostgres) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(postgres.url, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def app() -> FastAPI:
    return create_app(manage_engine=False)


@pytest.fixture
async def client(engine: AsyncEngine, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    forget_cached_tokens()
    async with engine.connect() as conn:
        outer = await conn.begin()
        # Begin the outer transaction now: the app's raw asyncpg transactions on this
        # connection must nest in it (as savepoints), never run and commit on their own.
        await conn.exec_driver_sql("SELECT 1")
        app.state.sessionmaker = make_sessionmaker(conn, join_transaction_mode="create_savepoint")
        raw = await conn.get_raw_connection()
        app.state.read_pool = SingleConnectionPool(raw.driver_connection)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kplane") as c:
            yield c
        await outer.rollback()


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
