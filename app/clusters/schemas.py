"""Request and response shapes of clusters."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.schemas import ReconciledOut, ReconciledWritable

DayOfWeek = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


class BrokerResources(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    cpu: float = Field(1.0, ge=0.25, le=64)
    memory_gib: float = Field(2.0, ge=0.5, le=512)


class MaintenanceWindow(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    day_of_week: DayOfWeek
    start_time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM UTC")
    duration_hours: int = Field(ge=1, le=24)


WRITABLE = (
    "kafka_version",
    "broker_count",
    "controller_count",
    "broker_resources",
    "storage_gib",
    "config",
    "maintenance_window",
    "deletion_protection",
    "labels",
)


class ClusterIn(ReconciledWritable):
    kafka_version: str | None = Field(None, description="One of /v1/kafka_versions.")
    broker_count: int | None = Field(None, ge=1, le=100)
    controller_count: Literal[1, 3] | None = Field(None, description="Immutable.")
    broker_resources: BrokerResources | None = None
    storage_gib: int | None = Field(None, ge=1, le=65536, description="May only grow.")
    config: dict[str, Any] = Field(default_factory=dict, description="Allow-listed settings.")
    maintenance_window: MaintenanceWindow | None = None
    deletion_protection: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    bootstrap_servers: Any = Field(None, json_schema_extra={"readOnly": True})
    brokers: Any = Field(None, json_schema_extra={"readOnly": True})
    running_kafka_version: Any = Field(None, json_schema_extra={"readOnly": True})


class Broker(BaseModel):
    node_id: int
    state: str
    kafka_version: str | None = None
    ready: bool


class ClusterOut(ReconciledOut):
    kafka_version: str
    broker_count: int
    controller_count: int
    broker_resources: BrokerResources
    storage_gib: int
    config: dict[str, str]
    maintenance_window: MaintenanceWindow | None
    deletion_protection: bool
    bootstrap_servers: str
    brokers: list[Broker]
    running_kafka_version: str


class ClusterList(BaseModel):
    clusters: list[ClusterOut]
    next_page_token: str
