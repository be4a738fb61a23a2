"""Consumer groups on the whole stack, with real Kafka clients: a live group's lag figures are
exact, a reset or delete is refused while a member is connected (at request time, and again
by the worker at apply time), and once the consumers are gone `validate_only` shows the table,
a reset moves the offsets where asked (a new consumer starts there), `to_timestamp` lands on the
first offset at or after it, `shift_by` clamps at the log start, the lag history holds the
sampler's figures, and an EMPTY group deletes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from tests.e2e.conftest import ClientConfig, Cluster, Stack, wait_for

TOPIC = "cg-orders"
GROUP = "cg-app"
OTHER = "cg-other"
USER, PASSWORD = "cg", "cg-secret-password-1"
PARTITIONS, PER_PARTITION = 3, 10
N, M = PARTITIONS * PER_PARTITION, 12
# Record i of every partition is stamped T0 + i seconds (recent: retention is by timestamp).
T0 = (int(time.time()) - 600) * 1000


@pytest.fixture(scope="module")
def client(stack: Stack, kafka: Cluster) -> ClientConfig:
    """A kplane user allowed the topic and the `cg-` groups, and N records produced."""
    p = kafka.path
    stack.wait_op(
        stack.ok("POST", f"{p}/users", params={"user_id": USER}, json={"password": PASSWORD})
    )
    stack.wait_op(
        stack.ok(
            "POST",
            f"{p}/topics",
            params={"topic_id": TOPIC},
            json={"partition_count": PARTITIONS, "replication_factor": 3},
        )
    )
    for acl_id, ops in (
        (f"topic/{TOPIC}", ["READ", "WRITE", "DESCRIBE"]),
        ("consumerGroupPrefixed/cg-", ["READ"]),
    ):
        entries = [{"principal": f"User:{USER}", "operation": o} for o in ops]
        op = stack.ok("POST", f"{p}/acls", params={"acl_id": acl_id}, json={"acl_entries": entries})
        stack.wait_op(op)
    config = kafka.client_config(USER, PASSWORD)
    producer = Producer({**config, "acks": "all", "message.timeout.ms": 30000})
    errors: list[KafkaError] = []
    for partition in range(PARTITIONS):
        for i in range(PER_PARTITION):
            producer.produce(
                TOPIC,
                f"{partition}-{i}".encode(),
                partition=partition,
                timestamp=T0 + i * 1000,
                on_delivery=lambda err, _m: errors.append(err) if err else None,
            )
    assert producer.flush(60) == 0
    if errors:
        raise KafkaException(errors[0])
    return config


def _consumer(config: ClientConfig, client_id: str) -> Consumer:
    consumer = Consumer(
        {
            **config,
            "group.id": GROUP,
            "client.id": client_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([TOPIC])
    return consumer


def _consume(consumer: Consumer, done: Any, what: str) -> list[tuple[int, int]]:
    """(partition, offset) of every record delivered until `done(seen)`."""
    seen: list[tuple[int, int]] = []

    def step() -> bool:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            partition, offset = msg.partition(), msg.offset()
            assert partition is not None and offset is not None
            seen.append((partition, offset))
        return bool(done(seen))

    wait_for(step, 90, what, interval=0)
    return seen


@pytest.fixture(scope="module")
def path(kafka: Cluster) -> str:
    return f"{kafka.path}/consumer_groups"


def _group(stack: Stack, path: str, group: str = GROUP) -> dict[str, Any]:
    return stack.ok("GET", f"{path}/{group}")


def _until(
    stack: Stack, path: str, ok: Callable[[dict[str, Any]], bool], what: str, timeout: float = 60
) -> dict[str, Any]:
    """The group's body once `ok(body)` holds (reads are cached for a moment)."""

    def look() -> dict[str, Any] | None:
        body = _group(stack, path)
        return body if ok(body) else None

    return wait_for(look, timeout, what)


def _committed(body: dict[str, Any]) -> dict[int, int | None]:
    return {o["partition"]: o["committed_offset"] for o in body["offsets"]}


def _reason(r: Any) -> str:
    return str(r.json()["error"]["details"][0]["reason"])


def _wait_done(stack: Stack, op: dict[str, Any], timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not op["done"]:
        assert time.monotonic() < deadline, f"operation not done: {op}"
        op = stack.ok("GET", f"/v1/{op['name']}", params={"wait_seconds": 10})
    return op


def _reset(stack: Stack, path: str, body: dict[str, Any]) -> dict[str, Any]:
    op = stack.ok("POST", f"{path}/{GROUP}:resetOffsets", json=body)
    assert op["metadata"]["verb"] == "resetOffsets"
    done = stack.wait_op(op, timeout=90)
    response: dict[str, Any] = done["response"]
    return response


@pytest.fixture(scope="module")
def live(
    stack: Stack, client: ClientConfig, path: str
) -> Iterator[tuple[Consumer, dict[int, int]]]:
    """A connected member of GROUP that consumed M records and committed exactly them."""
    consumer = _consumer(client, "cg-live")
    try:
        seen = _consume(consumer, lambda s: len(s) >= M, f"{M} records")[:M]
        committed = {p: 0 for p in range(PARTITIONS)}
        for partition, offset in seen:
            committed[partition] = max(committed[partition], offset + 1)
        consumer.commit(
            offsets=[TopicPartition(TOPIC, p, o) for p, o in committed.items()],
            asynchronous=False,
        )
        yield consumer, committed
    finally:
        consumer.close()  # a test closed it already: a second close does nothing


def test_a_live_group_shows_its_members_and_exact_lag(
    stack: Stack, path: str, live: tuple[Consumer, dict[int, int]]
) -> None:
    _, committed = live
    body = _until(
        stack,
        path,
        lambda b: b["state"] == "STABLE" and _committed(b) == committed,
        "the group STABLE with its commits",
    )
    assert body["name"].endswith(f"/consumer_groups/{GROUP}")
    [member] = body["members"]
    assert member["client_id"] == "cg-live" and member["host"]
    assert sorted(p["partition"] for p in member["assigned_partitions"]) == [0, 1, 2]
    assert body["protocol"]
    for o in body["offsets"]:
        assert o["log_end_offset"] == PER_PARTITION
        assert o["lag"] == PER_PARTITION - committed[o["partition"]]
    assert body["total_lag"] == N - M
    assert body["max_lag"] == max(PER_PARTITION - c for c in committed.values())
    assert datetime.fromisoformat(body["observe_time"]) > datetime.now(UTC).replace(year=2020)


def test_reset_and_delete_are_refused_while_a_member_is_connected(
    stack: Stack, path: str, live: tuple[Consumer, dict[int, int]]
) -> None:
    _until(stack, path, lambda b: b["state"] == "STABLE", "the group STABLE")
    for body in ({"to_earliest": True}, {"to_earliest": True, "validate_only": True}):
        r = stack.call("POST", f"{path}/{GROUP}:resetOffsets", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["status"] == "FAILED_PRECONDITION"
        assert _reason(r) == "GROUP_NOT_EMPTY"
    r = stack.call("DELETE", f"{path}/{GROUP}")
    assert r.status_code == 400 and _reason(r) == "GROUP_NOT_EMPTY"


def test_an_empty_group_resets_as_asked(
    stack: Stack,
    path: str,
    client: ClientConfig,
    admin: AdminClient,
    live: tuple[Consumer, dict[int, int]],
) -> None:
    consumer, committed = live
    consumer.close()
    _until(stack, path, lambda b: b["state"] == "EMPTY", "the group EMPTY")

    # A second group, for the list's filter and pages.
    other = Consumer({**client, "group.id": OTHER, "enable.auto.commit": False})
    other.commit(offsets=[TopicPartition(TOPIC, 0, 1)], asynchronous=False)
    other.close()

    def listed(**params: Any) -> list[str]:
        body = stack.ok("GET", path, params=params)
        return [g["group_id"] for g in body["consumer_groups"]]

    assert wait_for(lambda: listed(filter='name = "cg-*"') == [GROUP, OTHER], 30, "both listed")
    assert listed(filter='name = "cg-*" AND state = STABLE') == []
    first = stack.ok("GET", path, params={"filter": 'name = "cg-*"', "page_size": 1})
    assert [g["group_id"] for g in first["consumer_groups"]] == [GROUP]
    assert first["consumer_groups"][0]["total_lag"] == N - M
    second = stack.ok(
        "GET",
        path,
        params={"filter": 'name = "cg-*"', "page_size": 1, "page_token": first["next_page_token"]},
    )
    assert [g["group_id"] for g in second["consumer_groups"]] == [OTHER]
    assert second["next_page_token"] == ""
    # The list does not describe an EMPTY group (its coordinator from __consumer_offsets'
    # leaders, on 3 brokers here); a GET always describes it: the two bodies are the same.
    for listed_body in (first["consumer_groups"][0], second["consumer_groups"][0]):
        got = stack.ok("GET", f"{path}/{listed_body['group_id']}")
        assert {**listed_body, "observe_time": ""} == {**got, "observe_time": ""}

    # validate_only: the table, and nothing changes.
    r = stack.ok(
        "POST", f"{path}/{GROUP}:resetOffsets", json={"to_earliest": True, "validate_only": True}
    )
    assert r["validate_only"] is True
    assert [(o["partition"], o["before"], o["after"]) for o in r["offsets"]] == [
        (p, committed[p], 0) for p in range(PARTITIONS)
    ]
    assert _committed(stack.ok("GET", f"{path}/{GROUP}")) == committed

    # to_timestamp: the first offset stamped at or after T0 + 4.5 s is 5 on every partition.
    stamp = datetime.fromtimestamp((T0 + 4500) / 1000, UTC).isoformat()
    response = _reset(stack, path, {"to_timestamp": stamp})
    assert response["validate_only"] is False
    assert [(o["before"], o["after"]) for o in response["offsets"]] == [
        (committed[p], 5) for p in range(PARTITIONS)
    ]
    # A new consumer of the group starts there.
    again = _consumer(client, "cg-again")
    try:
        seen = _consume(again, lambda s: {p for p, _ in s} == {0, 1, 2}, "one record per partition")
    finally:
        again.close()
    firsts = {p: min(o for q, o in seen if q == p) for p in range(PARTITIONS)}
    assert firsts == {0: 5, 1: 5, 2: 5}

    # shift_by clamps at the log start (partition 0's start moved to 3).
    deleted = admin.delete_records([TopicPartition(TOPIC, 0, 3)])
    for future in deleted.values():
        future.result(timeout=30)
    _until(stack, path, lambda b: b["state"] == "EMPTY", "the group EMPTY again")
    response = _reset(stack, path, {"shift_by": -100})
    assert [(o["partition"], o["before"], o["after"]) for o in response["offsets"]] == [
        (0, 5, 3),
        (1, 5, 0),
        (2, 5, 0),
    ]
    # to_offset on one partition only.
    response = _reset(
        stack, path, {"to_offset": 7, "topics": [{"topic": TOPIC, "partitions": [1]}]}
    )
    assert [(o["partition"], o["after"]) for o in response["offsets"]] == [(1, 7)]
    body = _until(
        stack, path, lambda b: _committed(b) == {0: 3, 1: 7, 2: 0}, "the offsets as reset"
    )
    assert body["total_lag"] == 7 + 3 + 10

    logs = stack.ok(
        "GET", f"/v1/projects/{path.split('/')[3]}/audit_logs", params={"page_size": 500}
    )
    messages = [
        r["message"]
        for r in logs["audit_logs"]
        if r["action"] == "consumer_groups.resetConsumerGroupOffsets"
    ]
    assert any(f"{TOPIC}/0: 5->3" in m for m in messages), messages


def test_the_worker_checks_the_group_is_empty_when_it_applies(
    stack: Stack, path: str, client: ClientConfig
) -> None:
    """The request is accepted while the group is EMPTY; a consumer joins before the worker
    runs; the worker refuses, and the offsets stay as they were."""
    before = _committed(_group(stack, path))
    stack.cp.stop("worker")
    joined = _consumer(client, "cg-late")
    try:
        try:
            op = stack.ok("POST", f"{path}/{GROUP}:resetOffsets", json={"to_latest": True})
            assert op["done"] is False

            def stable() -> bool:
                joined.poll(0.2)  # keeps the member in the group; what it reads is not kept
                return bool(_group(stack, path)["state"] == "STABLE")

            wait_for(stable, 60, "the late consumer joined")
        finally:
            stack.cp.start_worker()
        op = _wait_done(stack, op)
        assert op["error"]["status"] == "FAILED_PRECONDITION", op
        assert op["error"]["details"][0]["reason"] == "GROUP_NOT_EMPTY"
    finally:
        joined.close()
    _until(stack, path, lambda b: b["state"] == "EMPTY", "the group EMPTY")
    # The late consumer committed nothing (auto commit off); the reset wrote nothing.
    assert _committed(_group(stack, path)) == before


def test_the_lag_history_samples_the_group(stack: Stack, path: str) -> None:
    """The sampler (beat, every 30 s) recorded the lag the group has had since its last reset
    (offsets 3, 7, 0 of 10 each)."""
    body = _until(stack, path, lambda b: b["total_lag"] == 20, "the lag as last reset")
    assert body["max_lag"] == 10

    def sampled() -> list[dict[str, Any]]:
        samples = stack.ok("GET", f"{path}/{GROUP}/lag_history")["samples"]
        return [s for s in samples if (s["total_lag"], s["max_lag"]) == (20, 10)]

    wait_for(sampled, 90, "a lag sample of 20 / 10", interval=2)
    samples = stack.ok("GET", f"{path}/{GROUP}/lag_history")["samples"]
    times = [datetime.fromisoformat(s["time"]) for s in samples]
    assert times == sorted(times)


def test_an_empty_group_deletes(stack: Stack, path: str) -> None:
    _until(stack, path, lambda b: b["state"] == "EMPTY", "the group EMPTY")
    op = stack.ok("DELETE", f"{path}/{GROUP}")
    assert op["metadata"]["verb"] == "delete"
    stack.wait_op(op, timeout=90)
    assert wait_for(lambda: stack.call("GET", f"{path}/{GROUP}").status_code == 404, 10, "gone")
    assert GROUP not in [
        g["group_id"]
        for g in stack.ok("GET", path, params={"filter": 'name = "cg-*"'})["consumer_groups"]
    ]
