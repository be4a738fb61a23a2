"""Request and response shapes of SCRAM users."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from app.core.schemas import ReconciledOut, ReconciledWritable

WRITABLE = ("quotas", "labels")


class Quotas(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    producer_byte_rate: int | None = Field(None, ge=1024, le=2**40)
    consumer_byte_rate: int | None = Field(None, ge=1024, le=2**40)
    request_percentage: float | None = Field(None, ge=0.01, le=10000)


class UserIn(ReconciledWritable):
    password: SecretStr | None = Field(
        None,
        min_length=12,
        max_length=256,
        description="Write-only; accepted on create. When omitted a 32-character password is "
        "generated. Returned only in this call's response.",
        json_schema_extra={"writeOnly": True},
    )
    quotas: Quotas = Field(default_factory=Quotas)
    labels: dict[str, str] = Field(default_factory=dict)


class RotatePasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    password: SecretStr | None = Field(
        None, min_length=12, max_length=256, json_schema_extra={"writeOnly": True}
    )
    etag: str | None = None


class UserOut(ReconciledOut):
    quotas: Quotas
    principal: str


class UserList(BaseModel):
    users: list[UserOut]
    next_page_token: str
