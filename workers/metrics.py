"""The workers' Prometheus metrics: how long reconcile passes take and how they end, per kind,
how many messages wait in the task queue and how many resources are unconverged; served by a
worker's main process.

Celery's prefork pool runs tasks in child processes, so the values live in prometheus-client's
multiprocess files, in a fresh directory per worker start: each child writes its own, and the
main process's HTTP server (`serve`, started on `worker_init`, before the pool forks) sums them
at scrape time. The queue depth (Redis) and the unconverged resources (Postgres) are read at
scrape time.

Off unless KPLANE_WORKER_METRICS_PORT is set (workers.config.WorkerSettings).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

import redis
from prometheus_client import CollectorRegistry, Histogram, start_http_server, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.models import ResourceStatus
from app.models.base import DesiredState
from workers import store

log = logging.getLogger("kplane.workers")
# prometheus-client leaves these two untyped.
_multiprocess_value: Any = values.MultiProcessValue
_multiprocess_collector: Any = MultiProcessCollector

RECONCILE = Histogram(
    "kplane_reconcile_duration_seconds",
    "Reconcile passes by kind (clusters, topics, acls, users) and how they ended: ready, "
    "requeued, failed, busy (another worker held the cluster), invalid (not a cluster uid).",
    ("kind", "outcome"),
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 150.0),
)


def kind_of(task_name: str) -> str:
    """The `kind` label of a reconcile task: "clusters.reconcile" is "clusters"."""
    return task_name.split(".", 1)[0]


def observe_reconcile(task_name: str, outcome: str, seconds: float) -> None:
    """One finished pass of `task_name`."""
    RECONCILE.labels(kind_of(task_name), outcome).observe(seconds)


class QueueDepth(Collector):
    """Messages waiting in the Celery queue (its Redis list); no sample when Redis is down."""

    def __init__(self, client: redis.Redis[bytes], queue: str) -> None:
        self.client = client
        self.queue = queue

    def collect(self) -> Iterator[Metric]:
        try:
            depth = int(self.client.llen(self.queue))
        except redis.RedisError as exc:
            log.warning("queue depth unavailable: %s", exc)
            return
        family = GaugeMetricFamily(
            "kplane_queue_depth", "Messages waiting in the task queue.", labels=["queue"]
        )
        family.add_metric([self.queue], depth)
        yield family


class Unconverged(Collector):
    """Resources of each kind that are unconverged (`store.unconverged`, the sweeper's one
    definition), counted at scrape time; no sample when Postgres does not answer.

    Connections are not pooled (NullPool): the main process may fork a new pool child at any
    time, and a child must not inherit an open connection of the parent's."""

    def __init__(self, database_url: str, kinds: Sequence[tuple[str, type[DesiredState]]]) -> None:
        self.engine = create_engine(
            database_url, poolclass=NullPool, connect_args={"connect_timeout": 2}
        )
        self.kinds = kinds

    def collect(self) -> Iterator[Metric]:
        counts: dict[str, int] = {}
        try:
            with Session(self.engine) as session:
                for kind, model in self.kinds:
                    query = (
                        select(func.count())
                        .select_from(model)
                        .outerjoin(ResourceStatus, ResourceStatus.resource_uid == model.uid)
                        .where(store.unconverged(model))
                    )
                    counts[kind] = int(session.scalar(query) or 0)
        except SQLAlchemyError as exc:
            log.warning("unconverged resources unavailable: %s", exc)
            return
        family = GaugeMetricFamily(
            "kplane_unconverged_resources",
            "Resources whose actual state has not reached their desired state yet.",
            labels=["kind"],
        )
        for kind, count in counts.items():
            family.add_metric([kind], count)
        yield family


def serve(
    port: int,
    host: str,
    redis_url: str,
    queue: str,
    database_url: str,
    kinds: Sequence[tuple[str, type[DesiredState]]],
) -> str:
    """Start the metrics server in this (the main) process; children forked later report to it.
    Returns the values' directory, for the caller to remove at shutdown."""
    directory = tempfile.mkdtemp(prefix="kplane-worker-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    # prometheus-client picks its value class when first imported, before the directory was
    # known: switch it now, so the children's values (created on first use) go to files.
    values.ValueClass = _multiprocess_value()
    registry = CollectorRegistry()
    _multiprocess_collector(registry, path=directory)
    client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    registry.register(QueueDepth(client, queue))
    registry.register(Unconverged(database_url, kinds))
    start_http_server(port, addr=host, registry=registry)
    log.info("worker metrics on %s:%d (values in %s)", host, port, directory)
    return directory
