"""Request and response shapes of topics."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.schemas import ReconciledOut, ReconciledWritable
from app.operations.schemas import OperationOut

WRITABLE = ("partition_count", "replication_factor", "configs", "labels")
MAX_BATCH = 1000


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


class TopicCreateRequest(BaseModel):
    """One entry of a batch create: what a single create takes as `topic_id` and body."""

    model_config = ConfigDict(extra="forbid", strict=True)

    topic_id: str = Field(max_length=300)
    topic: TopicIn = Field(default_factory=TopicIn)


class BatchCreateTopicsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    requests: list[TopicCreateRequest] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} topics to create."
    )


class BatchCreateTopicsOut(BaseModel):
    operations: list[OperationOut] = Field(
        description="One Operation per created topic, in the order of `requests`."
    )
