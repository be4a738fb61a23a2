"""Desired state of a SCRAM-SHA-512 user.

The password is kept as SCRAM material (what a broker would store) plus a Fernet ciphertext,
because the workers must hand the plaintext to the Admin API once; it is never stored in clear.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, DesiredState


class User(DesiredState, Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("cluster_uid", "user_id"),)

    cluster_uid: Mapped[uuid.UUID] = mapped_column(ForeignKey("clusters.uid", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(String(63))
    cluster_id: Mapped[str] = mapped_column(String(63))
    user_id: Mapped[str] = mapped_column(String(63))
    scram_iterations: Mapped[int] = mapped_column(Integer)
    scram_salt: Mapped[bytes] = mapped_column(LargeBinary)
    scram_stored_key: Mapped[bytes] = mapped_column(LargeBinary)
    scram_server_key: Mapped[bytes] = mapped_column(LargeBinary)
    password_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    password_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    quotas: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
