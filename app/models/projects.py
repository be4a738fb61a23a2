"""Projects: the tenancy boundary. Every other row belongs to exactly one project."""

from __future__ import annotations

import uuid

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps


class Project(Timestamps, Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    uid: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    display_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    labels: Mapped[dict[str, str]] = mapped_column(default=dict, server_default="{}")
