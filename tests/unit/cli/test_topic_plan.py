"""The pure diff of `kplane topics apply`: table-driven, no API."""

from __future__ import annotations

import re

import pytest

from cli.topic_plan import Change, Desired, PlanError, plan, read_file


def existing(name: str, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": f"projects/p/clusters/c/topics/{name}",
        "etag": f"e-{name}",
        "partition_count": 1,
        "replication_factor": 1,
        "configs": {},
        "labels": {},
    }
    return {**base, **fields}


def test_read_file_takes_cluster_and_topics_and_stringifies_config_values() -> None:
    cluster, topics = read_file(
        {
            "cluster": "main",
            "topics": [
                {"name": "a", "partition_count": 3, "configs": {"retention.ms": 1000}},
                {"name": "b", "configs": {"cleanup.policy": "compact", "x": True}},
            ],
        }
    )
    assert cluster == "main"
    assert topics == [
        Desired("a", {"partition_count": 3, "configs": {"retention.ms": "1000"}}),
        Desired("b", {"configs": {"cleanup.policy": "compact", "x": "true"}}),
    ]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "expected a mapping with a 'topics:' list"),
        ({"topics": {"a": {}}}, "expected a mapping with a 'topics:' list"),
        ({"topics": [], "extra": 1}, "unknown top-level key(s): extra"),
        (
            {"topics": [{"partition_count": 1}]},
            "topics[0]: expected a mapping with a string 'name'",
        ),
        ({"topics": [{"name": "a"}, {"name": "a"}]}, "topics[1]: 'a' appears twice"),
        ({"topics": [{"name": "a", "partitions": 1}]}, "unknown field(s) partitions"),
        ({"topics": [{"name": "a", "configs": ["x"]}]}, "configs must be a mapping"),
    ],
)
def test_read_file_refuses_what_it_cannot_read(doc: object, message: str) -> None:
    with pytest.raises(PlanError, match=re.escape(message)):
        read_file(doc)


def test_plan_creates_missing_updates_differences_and_leaves_the_rest() -> None:
    desired = [
        Desired("new", {"partition_count": 2}),
        Desired("same", {"partition_count": 1, "configs": {"retention.ms": "5"}}),
        Desired("grow", {"partition_count": 4, "replication_factor": 1}),
        Desired("conf", {"configs": {"retention.ms": "7", "cleanup.policy": "compact"}}),
    ]
    current = {
        "same": existing("same", configs={"retention.ms": "5"}),
        "grow": existing("grow"),
        "conf": existing("conf", configs={"retention.ms": "5", "segment.ms": "9"}),
        "other": existing("other"),
    }
    result = plan(desired, current)
    assert [t.name for t in result.creates] == ["new"]
    assert result.unchanged == ["same"]
    grow, conf = result.updates
    assert (grow.topic, grow.body, grow.mask, grow.etag) == (
        "grow",
        {"partition_count": 4},
        "partition_count",
        "e-grow",
    )
    assert grow.changes == [Change("partition_count", 1, 4)]
    # The file's map is the whole desired map: a key it lacks is removed.
    assert conf.body == {"configs": {"retention.ms": "7", "cleanup.policy": "compact"}}
    assert conf.changes == [
        Change("configs.cleanup.policy", None, "compact"),
        Change("configs.retention.ms", "5", "7"),
        Change("configs.segment.ms", "9", None),
    ]


def test_a_second_plan_after_applying_is_empty() -> None:
    desired = [Desired("a", {"partition_count": 3, "labels": {"team": "x"}})]
    after = {"a": existing("a", partition_count=3, labels={"team": "x"})}
    assert plan(desired, after).empty
