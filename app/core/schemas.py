"""Request-body base shared by every domain's schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Writable(BaseModel):
    """A request body: unknown fields are refused; output-only fields are accepted and ignored."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    name: Any = Field(None, json_schema_extra={"readOnly": True})
    uid: Any = Field(None, json_schema_extra={"readOnly": True})
    create_time: Any = Field(None, json_schema_extra={"readOnly": True})
    update_time: Any = Field(None, json_schema_extra={"readOnly": True})
    etag: str | None = Field(None, description="Current etag, for optimistic concurrency.")


class ReconciledWritable(Writable):
    """Adds the output-only fields of reconciled resources, accepted and ignored."""

    generation: Any = Field(None, json_schema_extra={"readOnly": True})
    observed_generation: Any = Field(None, json_schema_extra={"readOnly": True})
    reconciling: Any = Field(None, json_schema_extra={"readOnly": True})
    state: Any = Field(None, json_schema_extra={"readOnly": True})
    conditions: Any = Field(None, json_schema_extra={"readOnly": True})


class Condition(BaseModel):
    type: str
    status: str
    reason: str = ""
    message: str = ""
    last_transition_time: str | None = None
    observed_generation: int = 0


class ReconciledOut(BaseModel):
    """The common output fields of clusters, topics, acls and users."""

    name: str
    uid: str
    create_time: str
    update_time: str
    labels: dict[str, str]
    etag: str
    generation: int
    observed_generation: int
    reconciling: bool
    state: str
    conditions: list[Condition]
