"""Desired ACL entries of one Kafka resource pattern (the `acl_id` encodes the pattern)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, DesiredState


class Acl(DesiredState, Base):
    __tablename__ = "acls"
    __table_args__ = (UniqueConstraint("cluster_uid", "acl_id"),)

    cluster_uid: Mapped[uuid.UUID] = mapped_column(ForeignKey("clusters.uid", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(String(63))
    cluster_id: Mapped[str] = mapped_column(String(63))
    acl_id: Mapped[str] = mapped_column(String(300))
    resource_type: Mapped[str] = mapped_column(String(32))
    pattern_type: Mapped[str] = mapped_column(String(16))
    resource_name: Mapped[str] = mapped_column(String(255))
    acl_entries: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
