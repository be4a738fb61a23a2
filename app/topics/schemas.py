"""Request and response shapes of topics."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.core.schemas import ReconciledOut, ReconciledWritable

WRITABLE = ("partition_count", "replication_factor", "configs", "labels")


class TopicIn(ReconciledWritable):
    partition_count: int | None = Field(None, ge=1, le=10000, description="May only grow.")
    replication_factor: int | None = Field(
        None, ge=1, le=100, description="Immutable; at most the cluster's broker_count."
    )
    configs: dict[str, Any] = Field(default_factory=dict, description="Allow-listed configs.")
    labels: dict[str, str] = Field(default_factory=dict)


class TopicOut(ReconciledOut):
    partition_count: int
    replication_factor: int
    configs: dict[str, str]


class TopicList(BaseModel):
    topics: list[TopicOut]
    next_page_token: str
