"""Scale-in is refused up front when the remaining brokers cannot hold a replication factor:
the topics kplane manages and Kafka's internal topics (min(3, brokers) replicas)."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import World

pytestmark = pytest.mark.anyio


def reason(r: object) -> str:
    return str(r.json()["error"]["details"][0]["reason"])  # type: ignore[attr-defined]


async def test_scale_in_needs_room_for_topics_and_internal_topics(world: World) -> None:
    r = await world.call("POST", "/v1/projects/p/clusters?cluster_id=big", json={"broker_count": 5})
    assert r.status_code == 200
    big = "/v1/projects/p/clusters/big"
    # No topic of RF 3: still refused below 3, for __consumer_offsets.
    r = await world.call("PATCH", big, json={"broker_count": 2})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["status"] == "FAILED_PRECONDITION"
    assert reason(r) == "SCALE_IN_BELOW_REPLICATION_FACTOR"
    assert "__consumer_offsets" in r.json()["error"]["message"]
    r = await world.call("POST", f"{big}/topics?topic_id=rf3", json={"replication_factor": 3})
    assert r.status_code == 200
    r = await world.call("PATCH", big, json={"broker_count": 1})
    assert r.status_code == 400 and reason(r) == "SCALE_IN_BELOW_REPLICATION_FACTOR"
    assert "replication_factor 3" in r.json()["error"]["message"]
    # Nothing changed, and a scale-in the brokers can hold is accepted.
    assert (await world.call("GET", big)).json()["broker_count"] == 5
    r = await world.call("PATCH", big, json={"broker_count": 3})
    assert r.status_code == 200
    assert (await world.call("GET", big)).json()["broker_count"] == 3
