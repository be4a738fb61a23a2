"""Topics through the API show on the brokers: create, config change, partition growth,
delete. A change made directly with the Admin API is reverted within one resync and reported;
a topic kplane does not manage is never touched."""

from __future__ import annotations

from typing import Any

from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewTopic,
    ResourceType,
)

from tests.e2e.conftest import RESYNC_SECONDS, Cluster, Stack, wait_for


def on_broker(admin: AdminClient, topic: str) -> tuple[int, dict[str, str]] | None:
    """(partitions, topic-level configs) as the brokers have them, None if absent."""
    meta = admin.list_topics(timeout=10).topics.get(topic)
    if meta is None or meta.error is not None:
        return None
    entries = admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)])
    configs = next(iter(entries.values())).result(timeout=10)
    dynamic = {
        k: e.value
        for k, e in configs.items()
        if getattr(e.source, "value", e.source) == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    }
    return len(meta.partitions), dynamic


def expect(admin: AdminClient, topic: str, want: tuple[int, dict[str, str]]) -> None:
    """The brokers show `want` for the topic (metadata reaches every broker within moments of
    the controller's commit, so allow a short deadline)."""
    wait_for(lambda: on_broker(admin, topic) == want, 10, f"{topic} on the brokers to be {want}")


def test_topic_lifecycle_shows_on_the_brokers(
    stack: Stack, kafka: Cluster, admin: AdminClient
) -> None:
    path = f"{kafka.path}/topics"
    op = stack.ok(
        "POST",
        path,
        params={"topic_id": "life"},
        json={
            "partition_count": 3,
            "replication_factor": 3,
            "configs": {"retention.ms": "3600000"},
        },
    )
    done = stack.wait_op(op)
    assert done["response"]["state"] == "ACTIVE"
    expect(admin, "life", (3, {"retention.ms": "3600000"}))

    op = stack.ok(
        "PATCH",
        f"{path}/life",
        json={"configs": {"retention.ms": "7200000", "cleanup.policy": "compact"}},
    )
    stack.wait_op(op)
    expect(admin, "life", (3, {"retention.ms": "7200000", "cleanup.policy": "compact"}))

    stack.wait_op(stack.ok("PATCH", f"{path}/life", json={"partition_count": 6}))
    expect(admin, "life", (6, {"retention.ms": "7200000", "cleanup.policy": "compact"}))

    stack.wait_op(stack.ok("DELETE", f"{path}/life"))
    assert stack.call("GET", f"{path}/life").status_code == 404
    assert wait_for(lambda: on_broker(admin, "life") is None, 10, "the topic to leave the brokers")


def test_out_of_band_change_is_reverted_and_unmanaged_topics_are_left_alone(
    stack: Stack, kafka: Cluster, admin: AdminClient
) -> None:
    path = f"{kafka.path}/topics"
    stack.wait_op(
        stack.ok(
            "POST",
            path,
            params={"topic_id": "guarded"},
            json={
                "partition_count": 2,
                "replication_factor": 3,
                "configs": {"retention.ms": "60000"},
            },
        )
    )
    # Someone else's topic on the same brokers, with a config of its own.
    admin.create_topics([NewTopic("by-hand", 1, 1, config={"retention.ms": "1234"})])[
        "by-hand"
    ].result(10)

    # An operator changes the managed topic directly.
    resource = ConfigResource(
        ResourceType.TOPIC,
        "guarded",
        incremental_configs=[
            ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry("segment.ms", "100000", incremental_operation=AlterConfigOpType.SET),
        ],
    )
    next(iter(admin.incremental_alter_configs([resource]).values())).result(10)
    # (Not re-read here: a worker pass may already be reverting it.)

    # Within one resync (sweeper interval + recheck age + one pass) it is back as specified.
    wait_for(
        lambda: on_broker(admin, "guarded") == (2, {"retention.ms": "60000"}),
        3 * RESYNC_SECONDS + 10,
        "the out-of-band change to be reverted",
    )

    # The brokers show the revert a moment before the pass that made it commits its status.
    def drift() -> list[dict[str, Any]]:
        body = stack.ok("GET", f"{path}/guarded")
        return [
            c
            for c in body["conditions"]
            if c["type"] == "Drift" and c["status"] == "True" and "retention.ms" in c["message"]
        ]

    assert wait_for(drift, 10, "the Drift condition naming retention.ms")

    def audited() -> list[dict[str, Any]]:
        logs = stack.ok(
            "GET", f"/v1/projects/{kafka.project}/audit_logs", params={"page_size": 200}
        )
        return [
            r
            for r in logs["audit_logs"]
            if r["action"] == "topics.revertOutOfBandChange" and r["target"].endswith("/guarded")
        ]

    assert wait_for(audited, 10, "an audit record of the revert")
    assert on_broker(admin, "by-hand") == (1, {"retention.ms": "1234"})
