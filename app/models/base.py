"""The one SQLAlchemy metadata of kplane, with a naming convention so that Alembic's constraint
names are stable, and the column groups every resource table shares."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Integer, MetaData, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSONB, list[Any]: JSONB, dict[str, str]: JSONB}


class Timestamps:
    """Creation and last-change times; `version` changes on every write and feeds the etag."""

    create_time: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow
    )
    update_time: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class DesiredState(Timestamps):
    """Columns of every reconciled resource's desired state (written only by the API).

    `generation` is bumped only when the desired state really changes; `delete_time` marks a
    requested deletion that workers have not finished yet (the row lives on as DELETING).
    """

    uid: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    labels: Mapped[dict[str, str]] = mapped_column(default=dict, server_default="{}")
    generation: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    delete_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
