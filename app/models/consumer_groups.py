"""Requested actions on a consumer group (an offset reset, a deletion), waiting for a worker;
and the groups' lag history.

A consumer group is not desired state that kplane keeps converging: it lives on the brokers,
and kplane only acts on it when asked. An action row is what a request asked for, kept until a
worker has carried it out (then the row goes, and the Operation holds the outcome), so that a
lost message loses nothing: the workers' resync finds the row again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class ConsumerGroupAction(Base):
    __tablename__ = "consumer_group_actions"

    uid: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    operation_uid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("operations.uid", ondelete="CASCADE"), unique=True
    )
    cluster_uid: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clusters.uid", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(String(63))
    cluster_id: Mapped[str] = mapped_column(String(63))
    group_id: Mapped[str] = mapped_column(String(255))
    # "resetOffsets" or "delete".
    verb: Mapped[str] = mapped_column(String(32))
    # The reset asked for (ResetOffsetsIn as JSON, without validate_only), and once a worker has
    # planned it, "planned": the before/after table it writes; {} for a deletion.
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    create_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConsumerGroupLagSample(Base):
    """One group's lag at one time, written by the workers' lag sampler; bounded: rows older
    than the retention (KPLANE_WORKER_LAG_RETENTION_HOURS) are deleted as new ones arrive."""

    __tablename__ = "consumer_group_lag_samples"
    __table_args__ = (
        Index(
            "ix_consumer_group_lag_samples_cluster_uid_group_id_time",
            "cluster_uid",
            "group_id",
            "time",
        ),
        Index("ix_consumer_group_lag_samples_time", "time"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    cluster_uid: Mapped[uuid.UUID] = mapped_column(ForeignKey("clusters.uid", ondelete="CASCADE"))
    group_id: Mapped[str] = mapped_column(String(255))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    total_lag: Mapped[int] = mapped_column(BigInteger)
    max_lag: Mapped[int] = mapped_column(BigInteger)
