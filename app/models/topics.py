"""Desired state of a Kafka topic, keyed by its Kafka name inside one cluster."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, DesiredState


class Topic(DesiredState, Base):
    __tablename__ = "topics"
    __table_args__ = (
        UniqueConstraint("cluster_uid", "topic_id"),
        # Kafka's metric names treat '.' and '_' alike, so two such names may not coexist.
        UniqueConstraint("cluster_uid", "collision_key"),
    )

    cluster_uid: Mapped[uuid.UUID] = mapped_column(ForeignKey("clusters.uid", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(String(63))
    cluster_id: Mapped[str] = mapped_column(String(63))
    topic_id: Mapped[str] = mapped_column(String(249))
    collision_key: Mapped[str] = mapped_column(String(249))
    partition_count: Mapped[int] = mapped_column(Integer)
    replication_factor: Mapped[int] = mapped_column(Integer)
    configs: Mapped[dict[str, str]] = mapped_column(default=dict, server_default="{}")
