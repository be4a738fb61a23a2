"""API tokens of a project. Only a hash of the secret is stored; the secret is shown once."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps


class Token(Timestamps, Base):
    __tablename__ = "tokens"
    __table_args__ = (UniqueConstraint("project_id", "token_id"),)

    uid: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    token_id: Mapped[str] = mapped_column(String(63))
    role: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    labels: Mapped[dict[str, str]] = mapped_column(default=dict, server_default="{}")
