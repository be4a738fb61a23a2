"""Request and response shapes of consumer groups."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.operations.schemas import OperationOut


class AssignedPartition(BaseModel):
    topic: str
    partition: int


class MemberOut(BaseModel):
    member_id: str
    client_id: str
    host: str
    group_instance_id: str | None = None
    assigned_partitions: list[AssignedPartition]


class PartitionOffsets(BaseModel):
    topic: str
    partition: int
    committed_offset: int | None = Field(description="None: the group committed none.")
    log_end_offset: int | None
    lag: int | None = Field(description="log_end_offset - committed_offset (never negative).")


class ConsumerGroupOut(BaseModel):
    name: str
    group_id: str
    state: str = Field(
        description="Kafka's: STABLE, EMPTY, PREPARING_REBALANCING, COMPLETING_REBALANCING, "
        "UNKNOWN."
    )
    protocol: str = Field(description="The partition assignor, e.g. range; empty when EMPTY.")
    simple: bool = Field(description="A group that only commits offsets (no members ever).")
    coordinator: int | None
    members: list[MemberOut]
    offsets: list[PartitionOffsets]
    total_lag: int
    max_lag: int
    observe_time: str = Field(description="When the brokers were asked (reads are cached ~2 s).")


class ConsumerGroupList(BaseModel):
    consumer_groups: list[ConsumerGroupOut]
    next_page_token: str


class LagSample(BaseModel):
    time: str
    total_lag: int
    max_lag: int


class LagHistoryOut(BaseModel):
    group: str
    samples: list[LagSample] = Field(description="Oldest first.")


class TopicSelectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    topic: str = Field(min_length=1, max_length=249)
    partitions: list[int] = Field(
        default_factory=list, max_length=10000, description="Empty: every partition."
    )


class ResetOffsetsIn(BaseModel):
    """Exactly one of the five targets; every target is clamped to the log's [start, end]."""

    model_config = ConfigDict(extra="forbid", strict=True)

    to_earliest: bool | None = Field(None, description="true: the log start.")
    to_latest: bool | None = Field(None, description="true: the log end.")
    to_timestamp: str | None = Field(
        None,
        max_length=64,
        description="RFC 3339: the first offset whose record time is at or after it.",
    )
    to_offset: int | None = Field(None, ge=0)
    shift_by: int | None = Field(None, description="Added to the committed offset (may be < 0).")
    topics: list[TopicSelectionIn] = Field(
        default_factory=list,
        max_length=1000,
        description="Empty: every partition the group has committed an offset for.",
    )
    validate_only: bool = Field(
        False, description="Answer with the before/after table and change nothing."
    )


class ResetOffset(BaseModel):
    topic: str
    partition: int
    before: int | None
    after: int


class ResetOffsetsOut(BaseModel):
    """The before/after table: the answer of `validate_only`, and a reset Operation's
    response."""

    group: str
    validate_only: bool
    offsets: list[ResetOffset]


ResetOffsetsResponse = ResetOffsetsOut | OperationOut
