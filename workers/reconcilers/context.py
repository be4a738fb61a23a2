"""What a reconcile pass is given: a DB session, the adapters, settings, and a way to ask for
other reconciles. Built by the task layer, so reconcilers never construct their own I/O."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from workers.adapters import kafka_roll, reassign
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
    # (bootstrap servers, admin password, timeout) -> the roller's client for one pass
    roll_admin: Callable[[str, str, float], AbstractContextManager[kafka_roll.RollAdmin]] = field(
        default_factory=lambda: kafka_roll.roll_admin
    )
