"""`kplane topics ...` against a live API: each verb, JSON output equal to the API's body, and
`topics apply` (create through batchCreate, update with etags, a no-op second run)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.integration.cli.conftest import Api, Kplane


def test_create_no_wait_prints_the_operation_the_api_returned(
    kplane: Kplane, api: Api, project: str
) -> None:
    op = kplane.json(
        "topics",
        "create",
        "orders",
        "-c",
        "main",
        "--partitions",
        "3",
        "--replication-factor",
        "2",
        "--config",
        "retention.ms=3600000",
        "--no-wait",
    )
    assert op["done"] is False
    assert op["metadata"]["target"] == f"projects/{project}/clusters/main/topics/orders"
    assert api.ok("GET", f"/v1/{op['name']}") == op
    topic = kplane.json("topics", "get", "orders", "-c", "main")
    assert topic == api.ok("GET", f"/v1/projects/{project}/clusters/main/topics/orders")
    assert (topic["partition_count"], topic["replication_factor"]) == (3, 2)
    assert topic["configs"] == {"retention.ms": "3600000"}
    table = kplane.ok("topics", "list", "-c", "main")
    assert "orders" in table and "CREATING" in table


def test_update_sends_the_current_etag_and_delete_returns_an_operation(
    kplane: Kplane, api: Api, project: str
) -> None:
    kplane.ok("topics", "create", "t1", "-c", "main", "--partitions", "2", "--no-wait")
    path = f"/v1/projects/{project}/clusters/main/topics/t1"
    before = api.ok("GET", path)
    op = kplane.json("topics", "update", "t1", "-c", "main", "--partitions", "4", "--no-wait")
    assert op["metadata"]["verb"] == "update"
    after = api.ok("GET", path)
    assert after["partition_count"] == 4 and after["generation"] == before["generation"] + 1
    # A stale etag given explicitly is refused by the API: exit 1 with its status and message.
    r = kplane.run(
        "topics",
        "update",
        "t1",
        "-c",
        "main",
        "--partitions",
        "5",
        "--etag",
        before["etag"],
        "--no-wait",
    )
    assert r.returncode == 1, r.stderr
    assert "409 ABORTED" in r.stderr
    op = kplane.json("topics", "delete", "t1", "-c", "main", "--no-wait")
    assert op["metadata"]["verb"] == "delete"
    assert api.ok("GET", path)["state"] == "DELETING"


def test_batch_create_makes_every_topic_in_one_call(kplane: Kplane, api: Api, project: str) -> None:
    body = kplane.json(
        "topics", "batch-create", "a", "b", "c", "-c", "main", "--partitions", "2", "--no-wait"
    )
    assert [op["metadata"]["target"].rsplit("/", 1)[1] for op in body["operations"]] == [
        "a",
        "b",
        "c",
    ]
    listed = api.ok("GET", f"/v1/projects/{project}/clusters/main/topics")
    assert [t["name"].rsplit("/", 1)[1] for t in listed["topics"]] == ["a", "b", "c"]
    assert kplane.json("topics", "list", "-c", "main") == listed


def test_apply_creates_then_updates_then_is_a_no_op(
    kplane: Kplane, api: Api, project: str, tmp_path: Path
) -> None:
    spec = tmp_path / "topics.yaml"
    topics = [
        {"name": "orders", "partition_count": 3, "configs": {"retention.ms": 86400000}},
        {"name": "payments", "partition_count": 1, "labels": {"team": "pay"}},
    ]
    spec.write_text(yaml.safe_dump({"cluster": "main", "topics": topics}))

    dry = kplane.json("topics", "apply", "-f", str(spec), "--dry-run")
    assert (dry["created"], dry["updated"], dry["operations"]) == (["orders", "payments"], [], [])
    assert api.ok("GET", f"/v1/projects/{project}/clusters/main/topics")["topics"] == []

    first = kplane.json("topics", "apply", "-f", str(spec), "--no-wait")
    assert first["created"] == ["orders", "payments"] and len(first["operations"]) == 2
    orders = api.ok("GET", f"/v1/projects/{project}/clusters/main/topics/orders")
    assert orders["configs"] == {"retention.ms": "86400000"}

    again = kplane.json("topics", "apply", "-f", str(spec), "--no-wait")
    assert (again["created"], again["updated"], again["operations"]) == ([], [], [])
    assert again["unchanged"] == ["orders", "payments"]

    topics[0]["partition_count"] = 6
    topics[1]["labels"] = {"team": "payments"}
    topics.append({"name": "audit", "partition_count": 1})
    spec.write_text(yaml.safe_dump({"cluster": "main", "topics": topics}))
    table = kplane.ok("topics", "apply", "-f", str(spec), "--no-wait")
    assert "+ create audit" in table
    assert "~ update orders" in table and "partition_count: 3 -> 6" in table
    assert "labels.team: pay -> payments" in table
    assert (
        api.ok("GET", f"/v1/projects/{project}/clusters/main/topics/orders")["partition_count"] == 6
    )
    last = kplane.json("topics", "apply", "-f", str(spec), "--no-wait")
    assert (last["created"], last["updated"]) == ([], [])


def test_apply_refuses_a_malformed_file_as_a_usage_error(kplane: Kplane, tmp_path: Path) -> None:
    spec = tmp_path / "topics.yaml"
    spec.write_text(yaml.safe_dump({"topics": [{"name": "x", "partitions": 3}]}))
    r = kplane.run("topics", "apply", "-f", str(spec), "-c", "main")
    assert r.returncode == 2
    assert "unknown field(s) partitions" in r.stderr
