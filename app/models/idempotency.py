"""Responses remembered per (principal, idempotency key) for 24 hours.

A response that carries a secret (a token, a password) — which a retrying client must get back
and which must never sit in the database in clear — is stored encrypted (`body_encrypted`);
the others are stored as sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    principal: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_encrypted: Mapped[bool] = mapped_column(Boolean)
    etag: Mapped[str] = mapped_column(String(100), default="", server_default="")
    create_time: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
