"""Long-running operations: one row per create, update or delete of a reconciled resource."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps


class Operation(Timestamps, Base):
    __tablename__ = "operations"
    __table_args__ = (
        Index("ix_operations_project_id_create_time", "project_id", "create_time"),
        Index("ix_operations_target_uid_done", "target_uid", "done"),
    )

    uid: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[str] = mapped_column(String(63))
    operation_id: Mapped[str] = mapped_column(String(63), unique=True)
    verb: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(600))
    target_uid: Mapped[uuid.UUID] = mapped_column()
    cluster_uid: Mapped[uuid.UUID] = mapped_column(index=True)
    target_generation: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str] = mapped_column(String(100), default="", server_default="")
    done: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    end_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    progress_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    steps: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    status_message: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    error: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    response: Mapped[dict[str, Any] | None] = mapped_column(default=None)
