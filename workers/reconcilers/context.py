"""What a reconcile pass is given: a DB session, the adapters, settings, and a way to ask for
other reconciles. Built by the task layer, so reconcilers never construct their own I/O."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from workers.adapters import reassign
from workers.adapters.kafka_admin import KafkaAdmin
from workers.adapters.kube import Kube
from workers.config import WorkerSettings


@dataclass
class Context:
    session: Session
    kube: Kube
    # bootstrap servers -> an Admin client authenticated as the control plane
    admin: Callable[[str, str], KafkaAdmin]
    settings: WorkerSettings
    reconcile_id: str
    # (task name, cluster uid) -> None: ask for a reconcile of another domain of the cluster
    enqueue: Callable[[str, str], None]
    secret_key: bytes
    log: logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.LoggerAdapter(logging.getLogger("kplane.workers"), {})
    )
    # (bootstrap servers, admin password) -> partition reassignment calls (kafka-python)
    reassigner: Callable[[str, str], reassign.Reassigner] = field(
        default_factory=lambda: reassign.reassigner
    )
