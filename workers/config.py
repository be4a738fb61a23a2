"""Settings only the workers read (prefix ``KPLANE_WORKER_``), beside the shared app settings.

Kept apart from `app.core.settings` because the API has no use for them: how to reach
Kubernetes and the brokers, how often the sweeper runs, and the defaults of the pods the
workers render.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    """One instance per worker or beat process."""

    model_config = SettingsConfigDict(env_prefix="KPLANE_WORKER_", extra="ignore")

    # A kubeconfig file; empty = in-cluster service-account config.
    kubeconfig: str = ""
    # How a worker reaches a cluster's brokers: "endpoints" = the bootstrap Service's endpoint
    # addresses (a worker outside the Kubernetes cluster: devstack, a laptop); "dns" = the
    # Service's DNS name (a worker running inside the cluster).
    broker_address: Literal["endpoints", "dns"] = "endpoints"
    cluster_domain: str = "cluster.local"
    # The broker image repository; the tag is the Kafka version.
    broker_image: str = "kplane/broker"
    # A rebuild of the image for the same Kafka version (tag `<version>-<build>`): a patch
    # kplane rolls out inside each cluster's maintenance window.
    broker_image_build: str = ""
    # "server" (G1, full JIT) in production; "small" (serial GC, C1) starts dev/test nodes faster.
    jvm_profile: Literal["server", "small"] = "server"
    controller_memory_mib: int = 512
    controller_storage_gib: int = 5
    # The sweeper re-enqueues what is unconverged, and what was not checked for this long.
    resync_seconds: float = 30.0
    recheck_seconds: float = 120.0
    # Timeouts of single calls to Kubernetes and Kafka: a hung dependency must surface as
    # "unknown" well within a task's time limit.
    kube_timeout_seconds: float = 5.0
    kafka_timeout_seconds: float = 10.0
    task_soft_time_limit: int = 120
    task_time_limit: int = 150
    # Partition moves of a scale-out or scale-in: the replication throttle per broker (bytes/s),
    # and what happens to a removed broker's volume once it is empty ("delete" or "retain").
    reassign_throttle_bytes: int = 50 * 1024 * 1024
    scale_in_volumes: Literal["delete", "retain"] = "delete"
    # Consumer group lag history: total_lag of every group sampled this often, kept this long.
    lag_sample_seconds: float = 30.0
    lag_retention_hours: float = 24.0
    # Prometheus metrics of each worker (workers/metrics.py): 0 = no metrics server.
    metrics_port: int = 0
    metrics_host: str = "0.0.0.0"  # noqa: S104 (scraped from the cluster network)


@lru_cache(maxsize=1)
def get_worker_settings() -> WorkerSettings:
    return WorkerSettings()
