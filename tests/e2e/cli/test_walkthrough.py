"""The README's walkthrough through the real `kplane` executable on the whole stack: a user, a
topic and ACLs made with `--wait`, `clusters client-config` fed to real Kafka clients that
produce and consume, then the consumer group that left behind read, reset and deleted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer

from tests.e2e.conftest import Cluster, Stack, wait_for

KPLANE = Path(sys.executable).parent / "kplane"
USER, PASSWORD = "cli-walk", "cli-walk-password-1"
TOPIC, GROUP = "cli-walk-orders", "cli-walk-app"
N = 20


def kplane(stack: Stack, kafka: Cluster, home: Path, *args: str) -> str:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KPLANE_")},
        "XDG_CONFIG_HOME": str(home),
        "KPLANE_ENDPOINT": stack.cp.api_url,
        "KPLANE_TOKEN": stack.http.headers["Authorization"].removeprefix("Bearer "),
        "KPLANE_PROJECT": kafka.project,
    }
    r = subprocess.run([str(KPLANE), *args], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"kplane {' '.join(args)}: {r.returncode}\n{r.stderr}"
    return r.stdout


def test_walkthrough_and_consumer_groups(stack: Stack, kafka: Cluster, tmp_path: Path) -> None:
    def cli(*args: str) -> str:
        return kplane(stack, kafka, tmp_path, *args)

    def cli_json(*args: str) -> Any:
        return json.loads(cli(*args, "-o", "json"))

    c = kafka.cluster
    op = cli_json("users", "create", USER, "-c", c, "--password", PASSWORD)
    assert op["done"] is True and "error" not in op
    op = cli_json("topics", "create", TOPIC, "-c", c, "--partitions", "2")
    assert op["response"]["state"] == "ACTIVE"
    cli("acls", "create", f"topic/{TOPIC}", "-c", c, "-e", f"User:{USER}:WRITE",
        "-e", f"User:{USER}:READ", "-e", f"User:{USER}:DESCRIBE")  # fmt: skip
    cli("acls", "add-entry", f"consumerGroup/{GROUP}", "-c", c, "--principal", f"User:{USER}",
        "--operation", "READ")  # fmt: skip

    properties = cli("clusters", "client-config", c, "--user", USER, "--password", PASSWORD,
                     "--format", "librdkafka")  # fmt: skip
    config = dict(line.split("=", 1) for line in properties.splitlines() if line and line[0] != "#")
    producer = Producer({**config, "acks": "all"})
    for i in range(N):
        producer.produce(TOPIC, f"m{i}".encode(), partition=i % 2)
    assert producer.flush(60) == 0

    consumer = Consumer(
        {**config, "group.id": GROUP, "auto.offset.reset": "earliest", "enable.auto.commit": False}
    )
    consumer.subscribe([TOPIC])
    seen: list[bytes] = []

    def consumed() -> bool:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            seen.append(msg.value() or b"")
        return len(seen) >= N

    wait_for(consumed, 90, f"{N} records consumed", interval=0)
    consumer.commit(asynchronous=False)
    consumer.close()

    path = f"{kafka.path}/consumer_groups/{GROUP}"

    def empty_and_committed() -> dict[str, Any] | None:
        body = stack.ok("GET", path)
        return body if body["state"] == "EMPTY" and body["total_lag"] == 0 else None

    wait_for(empty_and_committed, 60, "the group EMPTY with no lag")
    group = cli_json("consumer-groups", "get", GROUP, "-c", c)
    direct = stack.ok("GET", path)
    assert {k: v for k, v in group.items() if k != "observe_time"} == {
        k: v for k, v in direct.items() if k != "observe_time"
    }
    assert sorted(o["committed_offset"] for o in group["offsets"]) == [N // 2, N // 2]
    listed = cli_json("consumer-groups", "list", "-c", c, "--filter", f'name = "{GROUP}"')
    assert [g["group_id"] for g in listed["consumer_groups"]] == [GROUP]
    assert GROUP in cli("consumer-groups", "list", "-c", c)

    table = cli_json("consumer-groups", "reset-offsets", GROUP, "-c", c, "--to-earliest",
                     "--validate-only")  # fmt: skip
    assert table["validate_only"] is True
    assert sorted((o["before"], o["after"]) for o in table["offsets"]) == [(N // 2, 0)] * 2
    op = cli_json("consumer-groups", "reset-offsets", GROUP, "-c", c, "--to-earliest")
    assert op["done"] is True and "error" not in op
    wait_for(lambda: stack.ok("GET", path)["total_lag"] == N, 30, "the lag back to N")
    op = cli_json("consumer-groups", "delete", GROUP, "-c", c)
    assert op["done"] is True and "error" not in op
    wait_for(lambda: stack.call("GET", path).status_code == 404, 30, "the group gone")
