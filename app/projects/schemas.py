"""Request and response shapes of projects, tokens and the audit log."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.core.schemas import Writable


class ProjectIn(Writable):
    display_name: str = Field("", max_length=200)
    labels: dict[str, str] = {}


class ProjectOut(BaseModel):
    name: str
    uid: str
    create_time: str
    update_time: str
    display_name: str
    labels: dict[str, str]
    etag: str


class ProjectList(BaseModel):
    projects: list[ProjectOut]
    next_page_token: str


class TokenIn(Writable):
    role: Literal["viewer", "editor", "owner"] = "viewer"
    labels: dict[str, str] = {}
    secret: Any = Field(None, json_schema_extra={"readOnly": True})


class TokenOut(BaseModel):
    name: str
    uid: str
    create_time: str
    update_time: str
    role: str
    labels: dict[str, str]
    etag: str
    secret: str | None = Field(None, description="Only in the response of the create call.")


class TokenList(BaseModel):
    tokens: list[TokenOut]
    next_page_token: str


class AuditRecordOut(BaseModel):
    name: str
    time: str
    principal: str
    action: str
    target: str
    request_id: str
    result_code: int
    result: str
    message: str


class AuditLogList(BaseModel):
    audit_logs: list[AuditRecordOut]
    next_page_token: str


class KafkaVersionOut(BaseModel):
    version: str
    upgradable_to: list[str]
    default: bool
    metadata_version: str


class KafkaVersionList(BaseModel):
    kafka_versions: list[KafkaVersionOut]
