"""Observed state of any reconciled resource, written only by the workers.

Kept apart from desired state so that an API write and a worker's status write never touch the
same row, and so that the desired tables say only what users asked for.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class ResourceStatus(Base):
    __tablename__ = "resource_status"

    resource_uid: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    cluster_uid: Mapped[uuid.UUID] = mapped_column(index=True)
    observed_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    state: Mapped[str] = mapped_column(String(16), default="CREATING", server_default="CREATING")
    conditions: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    # Kind-specific output-only fields, e.g. bootstrap_servers, brokers, running_kafka_version.
    data: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    update_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_checked_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
