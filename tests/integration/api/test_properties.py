"""Property-based: whatever topic names, config keys and values a client sends, the API answers
with a 2xx or a 4xx in the error shape, never a 5xx."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.kafka_config import TOPIC_CONFIGS
from tests.integration.api.conftest import World

pytestmark = pytest.mark.anyio

C = "/v1/projects/p/clusters/c"
names = st.one_of(
    st.text(alphabet="abcXYZ019._-", min_size=1, max_size=260),
    st.text(min_size=0, max_size=40),
    st.sampled_from([".", "..", "__x", "a.b", "a_b", "a" * 249, "a" * 250]),
)
keys = st.one_of(st.sampled_from(sorted(TOPIC_CONFIGS)), st.text(max_size=30))
values = st.one_of(
    st.text(max_size=30),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.sampled_from(["-1", "0", "1", "9223372036854775808", "1e3", "true", "delete,compact"]),
)
settings_ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def raw(body: object) -> dict[str, object]:
    """Request kwargs with the body encoded as Python's json does, NaN and Infinity included."""
    return {
        "content": json.dumps(body, allow_nan=True).encode(),
        "headers": {"content-type": "application/json"},
    }


def assert_well_formed(r: object) -> None:
    status = r.status_code  # type: ignore[attr-defined]
    assert status < 500, r.text  # type: ignore[attr-defined]
    if status >= 400:
        body = r.json()  # type: ignore[attr-defined]
        assert body["error"]["code"] == status and body["error"]["status"]


@settings_
@given(name=names, configs=st.dictionaries(keys, values, max_size=4))
async def test_topic_create_never_5xx(world: World, name: str, configs: dict[str, object]) -> None:
    r = await world.call(
        "POST", f"{C}/topics", role="editor", params={"topic_id": name}, **raw({"configs": configs})
    )
    assert_well_formed(r)
    if r.status_code == 200:
        got = await world.call("GET", f"{C}/topics/{name}")
        assert got.status_code == 200 and got.json()["configs"] == configs


@settings_
@given(
    partitions=st.one_of(st.integers(), st.text(max_size=5), st.floats()),
    rf=st.one_of(st.integers(), st.none(), st.text(max_size=3)),
)
async def test_topic_numbers_never_5xx(world: World, partitions: object, rf: object) -> None:
    r = await world.call(
        "POST",
        f"{C}/topics?topic_id=n",
        role="editor",
        **raw({"partition_count": partitions, "replication_factor": rf}),
    )
    assert_well_formed(r)


@settings_
@given(
    config=st.dictionaries(st.text(max_size=40), values, max_size=4),
    body=st.dictionaries(st.text(max_size=12), values, max_size=3),
)
async def test_cluster_patch_never_5xx(
    world: World, config: dict[str, object], body: dict[str, object]
) -> None:
    r = await world.call("PATCH", C, role="editor", **raw({**body, "config": config}))
    assert_well_formed(r)


@settings_
@given(cpu=values, memory=values, rate=values)
async def test_numbers_in_nested_objects_never_5xx(
    world: World, cpu: object, memory: object, rate: object
) -> None:
    r = await world.call(
        "PATCH", C, role="editor", **raw({"broker_resources": {"cpu": cpu, "memory_gib": memory}})
    )
    assert_well_formed(r)
    r = await world.call(
        "POST",
        f"{C}/users?user_id=q",
        role="editor",
        **raw({"quotas": {"request_percentage": rate}}),
    )
    assert_well_formed(r)
