"""A broker stops and comes back: acks=all writes go on meanwhile (RF=3, min.insync.replicas=2),
and the returning broker rejoins the ISR with its own data, its storage never re-formatted."""

from __future__ import annotations

from pathlib import Path

from confluent_kafka.admin import AdminClient

from devstack.kafka import LocalKafkaCluster, LocalKafkaNode, wait_for

from .clients import create_topic, payloads, produce_ok, read_all, unique


def segment_bytes(node: LocalKafkaNode, topic: str) -> dict[str, bytes]:
    """The bytes of every log segment this node holds for ``topic``, by partition/file."""
    out = {}
    for path in sorted(node.log_dir.glob(f"{topic}-*/*.log")):
        out[f"{path.parent.name}/{path.name}"] = path.read_bytes()
    return out


def storage_identity(node: LocalKafkaNode) -> dict[str, tuple[int, int, bytes]]:
    """Inode, mtime and content of the files formatting writes: any re-format changes them."""
    files = [node.log_dir / "meta.properties", node.log_dir / "bootstrap.checkpoint"]
    return {
        f.name: (f.stat().st_ino, f.stat().st_mtime_ns, f.read_bytes()) for f in files if f.exists()
    }


def format_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith("kplane-broker:")]


def test_stopped_broker_keeps_writes_going_and_rejoins_intact(kafka_3x3: LocalKafkaCluster) -> None:
    admin = AdminClient(kafka_3x3.admin_config())
    topic = unique("durable")
    create_topic(admin, topic, partitions=3, replication=3, config={"min.insync.replicas": "2"})
    config = kafka_3x3.admin_config()
    before = [f"before-{i:04d}".encode() for i in range(600)]
    produce_ok(config, topic, before)

    victim = kafka_3x3.brokers[1]
    identity = storage_identity(victim)
    assert "meta.properties" in identity
    segments_before = segment_bytes(victim, topic)
    assert len(segments_before) == 3, "the broker should hold a replica of every partition"
    assert sum(map(len, segments_before.values())) > 0

    kafka_3x3.stop_node(victim.node_id)
    try:
        assert not victim.running
        # Controlled shutdown moved it out of every ISR; 2 replicas remain = min.insync.replicas.
        wait_for(
            lambda: len(kafka_3x3.partitions_missing(victim.node_id, [topic])) == 3,
            30,
            "the stopped broker to leave the ISR",
        )
        during = [f"during-{i:04d}".encode() for i in range(600)]
        produce_ok(config, topic, during)
    finally:
        kafka_3x3.start_node(victim.node_id)  # waits until it is registered again

    kafka_3x3.wait_in_sync(victim.node_id, [topic], timeout=120)
    after = [f"after-{i:04d}".encode() for i in range(300)]
    produce_ok(config, topic, after)

    # Storage was not formatted again: the same files, untouched, and the entrypoint said so.
    assert storage_identity(victim) == identity
    lines = format_lines(victim.log_path)
    assert sum("formatting storage" in line for line in lines) == 1
    assert any("already formatted" in line for line in lines[-2:])
    # Its own data survived on its disk: every old segment is a prefix of the segment now.
    segments_after = segment_bytes(victim, topic)
    for name, old in segments_before.items():
        assert segments_after[name].startswith(old), f"{name} lost data across the restart"
    # And it caught up on what it missed: its segments grew by the writes made without it.
    assert sum(map(len, segments_after.values())) > sum(map(len, segments_before.values()))

    expected = before + during + after
    got = read_all(config, topic, partitions=3, expected=len(expected))
    assert sorted(payloads(got)) == sorted(expected)
    assert len(got) == len(expected)


def test_killed_node_recovers_its_log_without_reformat(kafka_single: LocalKafkaCluster) -> None:
    """SIGKILL (a crash, an OOM kill): no clean shutdown, so Kafka recovers its segments on the
    next start; the entrypoint must still see formatted storage and leave it alone."""
    admin = AdminClient(kafka_single.admin_config())
    topic = unique("crash")
    create_topic(admin, topic, partitions=1, replication=1)
    config = kafka_single.admin_config()
    values = [f"crash-{i}".encode() for i in range(500)]
    produce_ok(config, topic, values)
    node = kafka_single.nodes[0]
    identity = storage_identity(node)

    kafka_single.kill_node(node.node_id)
    assert not node.running
    assert node.process is not None and node.process.returncode == -9
    kafka_single.start_node(node.node_id)

    assert storage_identity(node) == identity
    assert format_lines(node.log_path)[-2].endswith("; not formatting")
    got = read_all(kafka_single.admin_config(), topic, partitions=1, expected=len(values))
    assert payloads(got) == values
