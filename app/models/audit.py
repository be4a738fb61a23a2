"""Audit log: every mutation and every denial, who/what/when/request_id/result."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Identity, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class AuditRecord(Base):
    __tablename__ = "audit_logs"
    __table_args__ = (Index("ix_audit_logs_project_id_id", "project_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(63))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    principal: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(600))
    request_id: Mapped[str] = mapped_column(String(100))
    result_code: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(String(2000), default="", server_default="")
