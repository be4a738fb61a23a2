"""Request and response shapes of ACLs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.schemas import ReconciledOut, ReconciledWritable

Operation = Literal[
    "READ",
    "WRITE",
    "CREATE",
    "DELETE",
    "ALTER",
    "DESCRIBE",
    "CLUSTER_ACTION",
    "DESCRIBE_CONFIGS",
    "ALTER_CONFIGS",
    "IDEMPOTENT_WRITE",
    "ALL",
]
WRITABLE = ("acl_entries", "labels")


class AclEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    principal: str = Field(max_length=300, description='"User:{name}" or "User:*"')
    permission_type: Literal["ALLOW", "DENY"] = "ALLOW"
    operation: Operation
    host: str = Field("*", max_length=100, description='"*" or one IP address')


class AclIn(ReconciledWritable):
    acl_entries: list[AclEntry] = Field(default_factory=list, max_length=1000)
    labels: dict[str, str] = Field(default_factory=dict)
    resource_type: object = Field(None, json_schema_extra={"readOnly": True})
    pattern_type: object = Field(None, json_schema_extra={"readOnly": True})
    resource_name: object = Field(None, json_schema_extra={"readOnly": True})


class AclOut(ReconciledOut):
    acl_entries: list[AclEntry]
    resource_type: str
    pattern_type: str
    resource_name: str


class AclList(BaseModel):
    acls: list[AclOut]
    next_page_token: str
