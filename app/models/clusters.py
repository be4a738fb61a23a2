"""Desired state of a Kafka cluster. Observed state lives in `resource_status`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, DesiredState


class Cluster(DesiredState, Base):
    __tablename__ = "clusters"
    __table_args__ = (UniqueConstraint("project_id", "cluster_id"),)

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    cluster_id: Mapped[str] = mapped_column(String(63))
    kafka_version: Mapped[str] = mapped_column(String(32))
    broker_count: Mapped[int] = mapped_column(Integer)
    controller_count: Mapped[int] = mapped_column(Integer)
    broker_resources: Mapped[dict[str, Any]] = mapped_column()
    storage_gib: Mapped[int] = mapped_column(Integer)
    config: Mapped[dict[str, str]] = mapped_column(default=dict, server_default="{}")
    maintenance_window: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    deletion_protection: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
