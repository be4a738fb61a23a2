"""The upgrade path of broker/versions.json, done for real: a 3-node cluster on the older release
rolls node by node onto the newer jars while acks=all writes go on, then metadata.version is
finalised with Kafka's own FeatureCommand, and every record reads back exactly."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient

from devstack import kafka_dist
from devstack.kafka import LocalKafkaCluster

from .clients import create_topic, payloads, produce_ok, read_all, unique

UPGRADES = [(v.version, t) for v in kafka_dist.versions() for t in v.upgradable_to]


def finalized_metadata_version(cluster: LocalKafkaCluster) -> tuple[str, str]:
    """(finalized, supported max) metadata.version, from kafka-features describe."""
    out = cluster.run_tool("FeatureCommand", "describe")
    m = re.search(
        r"Feature: metadata\.version\s+SupportedMinVersion: \S+\s+"
        r"SupportedMaxVersion: (\S+)\s+FinalizedVersionLevel: (\S+)",
        out,
    )
    assert m, out
    return m.group(2), m.group(1)


@pytest.fixture(params=UPGRADES, ids=[f"{a}-to-{b}" for a, b in UPGRADES])
def old_cluster(request: pytest.FixtureRequest) -> Iterator[LocalKafkaCluster]:
    old, _ = request.param
    with LocalKafkaCluster(controllers=0, brokers=3, version=old, name="upgrade") as cluster:
        yield cluster


def test_rolling_upgrade_keeps_writes_and_data(
    old_cluster: LocalKafkaCluster, request: pytest.FixtureRequest
) -> None:
    cluster = old_cluster
    old, new = UPGRADES[[f"{a}-to-{b}" for a, b in UPGRADES].index(request.node.callspec.id)]
    old_mv = kafka_dist.get_version(old).metadata_version
    new_mv = kafka_dist.get_version(new).metadata_version
    assert finalized_metadata_version(cluster) == (old_mv, old_mv)

    admin = AdminClient(cluster.admin_config())
    topic = unique("upgrade")
    create_topic(admin, topic, partitions=3, replication=3, config={"min.insync.replicas": "2"})
    config = cluster.admin_config()
    expected = [f"{old}-{i}".encode() for i in range(300)]
    produce_ok(config, topic, expected)

    for node in cluster.nodes:  # combined nodes: each is a controller and a broker
        cluster.stop_node(node.node_id)
        during = [f"without-{node.node_id}-{i}".encode() for i in range(100)]
        produce_ok(config, topic, during)
        expected += during
        cluster.start_node(node.node_id, version=new)
        cluster.wait_in_sync(node.node_id, [topic])
        assert f"/kafka/{new}" in node.env["KAFKA_HOME"]

    # All nodes run the new jars; the cluster still speaks the old metadata.version until the
    # operator finalises the upgrade (the point of no return).
    assert finalized_metadata_version(cluster) == (old_mv, new_mv)
    cluster.run_tool("FeatureCommand", "upgrade", "--release-version", new_mv)
    assert finalized_metadata_version(cluster) == (new_mv, new_mv)

    after = [f"{new}-{i}".encode() for i in range(300)]
    produce_ok(config, topic, after)
    expected += after
    got = read_all(config, topic, partitions=3, expected=len(expected))
    assert sorted(payloads(got)) == sorted(expected)
    assert len(got) == len(expected)
