"""Shapes of long-running operations (AIP-151) as the API documents them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Step(BaseModel):
    """One step of the work: a cluster's phases, or one pod of a rolling restart."""

    name: str
    state: str = Field(
        description="PENDING, RUNNING, DONE, or BLOCKED (waiting on something outside the "
        "step; `message` says what)"
    )
    message: str = ""


class OperationMetadata(BaseModel):
    verb: str
    target: str
    create_time: str
    end_time: str | None = None
    progress_percent: int = 0
    steps: list[Step] = []
    status_message: str = ""
    cancel_requested: bool = False


class ErrorStatus(BaseModel):
    code: int
    status: str
    message: str
    details: list[dict[str, Any]] = []


class OperationOut(BaseModel):
    name: str
    done: bool
    metadata: OperationMetadata
    etag: str
    error: ErrorStatus | None = None
    response: dict[str, Any] | None = None


class OperationWithSecret(OperationOut):
    """An Operation plus the secret this very call set; the secret is never shown again."""

    password: str | None = None


class OperationList(BaseModel):
    operations: list[OperationOut]
    next_page_token: str
