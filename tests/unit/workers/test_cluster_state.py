"""The cluster's status data, typed: rows written before the types load, and dump to the very
same JSON (an unchanged pass must write nothing)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from workers.reconcilers.cluster_state import ClusterData, Move, RollState

ROWS: list[dict[str, Any]] = [
    {},
    {
        "brokers": [{"node_id": 100, "state": "RUNNING", "kafka_version": "4.1.0", "ready": True}],
        "bootstrap_servers": "10.0.0.1:9092",
        "running_kafka_version": "4.1.0",
        "placement_brokers": 3,
        "metadata_version_finalized_for": "4.1.0",
    },
    # A move that a crashed worker left: Kafka's targets only, no broker counts.
    {
        "placement_brokers": 3,
        "scaling": {"partitions": 4, "target": {"t:0": [100]}, "in_flight": 1},
    },
    {
        "scaling": {
            "target": {},
            "brokers": 5,
            "from_brokers": 3,
            "partitions": 10,
            "replicas": 12,
            "in_flight": 0,
            "placed": True,
        },
        "roll": {"generation": 4, "pod": "kafka-broker-1", "action": "delete"},
        "roll_cancelled": 3,
        "something_newer": {"kept": True},
    },
]


@pytest.mark.parametrize("row", ROWS)
def test_a_row_round_trips_unchanged(row: dict[str, Any]) -> None:
    before = copy.deepcopy(row)
    assert ClusterData.load(row).dump() == before
    assert row == before  # loading does not consume the row's dict


def test_typed_fields() -> None:
    d = ClusterData.load(ROWS[3])
    assert d.roll == RollState(4, "kafka-broker-1", "delete")
    assert d.scaling is not None and d.scaling.placed and d.scaling.direction == "(3 -> 5 brokers)"
    assert ClusterData.load(ROWS[2]).scaling == Move(
        target={"t:0": [100]}, partitions=4, in_flight=1
    )
    assert Move().direction == ""


def test_empty_remembered_state_is_no_state() -> None:
    d = ClusterData.load({"scaling": {}, "roll": {}})
    assert d.scaling is None and d.roll is None
    assert d.dump() == {}
