"""Shared fixtures of the broker tests: the cached Kafka jars and two real KRaft clusters.

Clusters are package-scoped: started once for all broker tests (2 cores) and stopped as soon as
the last of them finishes, so other areas' tests do not run beside idle JVMs. They run the very
entrypoint the broker image runs. A test that stops a node must leave the cluster whole again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import kafka_dist
from devstack.kafka import LocalKafkaCluster


@pytest.fixture(scope="session")
def kafka_home() -> Path:
    """KAFKA_HOME of the default version (resolved with Maven on a fresh machine)."""
    return kafka_dist.ensure(kafka_dist.default_version())


@pytest.fixture(scope="package")
def kafka_single(kafka_home: Path) -> Iterator[LocalKafkaCluster]:
    """One combined controller+broker node: the smallest cluster kplane offers."""
    with LocalKafkaCluster(controllers=0, brokers=1, name="single") as cluster:
        yield cluster


@pytest.fixture(scope="package")
def kafka_3x3(kafka_home: Path) -> Iterator[LocalKafkaCluster]:
    """Three KRaft controllers and three brokers in separate pools, as production runs them."""
    with LocalKafkaCluster(controllers=3, brokers=3, name="trio") as cluster:
        yield cluster
