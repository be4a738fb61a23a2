"""Both cluster shapes form from the broker entrypoint, and replicated writes read back exactly."""

from __future__ import annotations

from confluent_kafka import TopicCollection
from confluent_kafka.admin import AdminClient

from devstack.kafka import BROKER_NODE_ID_OFFSET, LocalKafkaCluster, new_cluster_id

from .clients import create_topic, payloads, produce_ok, read_all, unique, values_by_partition


def test_single_node_cluster_forms_and_serves(kafka_single: LocalKafkaCluster) -> None:
    admin = AdminClient(kafka_single.admin_config())
    described = admin.describe_cluster(request_timeout=10).result()
    assert described.cluster_id == kafka_single.cluster_id
    assert [n.id for n in described.nodes] == [0]
    assert [n.roles for n in kafka_single.nodes] == ["both"]

    topic = unique("single")
    create_topic(admin, topic, partitions=2, replication=1)
    values = [f"single-{i}".encode() for i in range(200)]
    produce_ok(kafka_single.admin_config(), topic, values)
    got = read_all(kafka_single.admin_config(), topic, partitions=2, expected=len(values))
    assert sorted(payloads(got)) == sorted(values)


def test_three_controllers_three_brokers_form(kafka_3x3: LocalKafkaCluster) -> None:
    admin = AdminClient(kafka_3x3.admin_config())
    described = admin.describe_cluster(request_timeout=10).result()
    assert described.cluster_id == kafka_3x3.cluster_id
    broker_ids = [BROKER_NODE_ID_OFFSET + i for i in range(3)]
    # Controllers never serve clients; only the broker pool is in the metadata.
    assert sorted(n.id for n in described.nodes) == broker_ids
    assert sorted(n.node_id for n in kafka_3x3.controllers) == [0, 1, 2]
    assert all(n.running for n in kafka_3x3.nodes)
    # Each node advertises its own address.
    assert {n.id: n.host for n in described.nodes} == {n.node_id: n.host for n in kafka_3x3.brokers}


def test_rf3_min_isr2_acks_all_reads_back_exactly(kafka_3x3: LocalKafkaCluster) -> None:
    admin = AdminClient(kafka_3x3.admin_config())
    topic = unique("orders")
    create_topic(admin, topic, partitions=3, replication=3, config={"min.insync.replicas": "2"})
    values = [f"order-{i:05d}".encode() for i in range(3000)]
    produce_ok(kafka_3x3.admin_config(), topic, values)

    got = read_all(kafka_3x3.admin_config(), topic, partitions=3, expected=len(values))
    assert len(got) == len(values), "duplicates or losses"
    assert sorted(payloads(got)) == sorted(values)
    # Per partition, the order of the writes is the order of the reads.
    position = {v: i for i, v in enumerate(values)}
    for partition, read in values_by_partition(got).items():
        assert read == sorted(read, key=position.__getitem__), f"partition {partition} reordered"
    # Every partition is replicated on all three brokers, all of them in sync.
    described = admin.describe_topics(TopicCollection([topic]), request_timeout=10)[topic].result()
    assert len(described.partitions) == 3
    for p in described.partitions:
        assert sorted(r.id for r in p.replicas) == broker_ids(kafka_3x3)
        assert sorted(r.id for r in p.isr) == broker_ids(kafka_3x3)


def broker_ids(cluster: LocalKafkaCluster) -> list[int]:
    return sorted(n.node_id for n in cluster.brokers)


def test_a_cluster_id_beginning_with_a_dash_formats() -> None:
    """One random id in 64 begins with '-': formatting must not read it as an option."""
    with LocalKafkaCluster(cluster_id="-UWRzqbWSvKOzj5Inx_0cA", name="dash") as cluster:
        admin = AdminClient(cluster.admin_config())
        assert admin.describe_cluster(request_timeout=10).result().cluster_id == (
            "-UWRzqbWSvKOzj5Inx_0cA"
        )


def test_new_cluster_ids_look_like_kafkas() -> None:
    ids = {new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
