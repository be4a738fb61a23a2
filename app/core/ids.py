"""Identifier rules of API.md: resource ids, and Kafka's topic-name rules."""

from __future__ import annotations

import re

from app.core.errors import FieldViolation

RESOURCE_ID = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
TOPIC_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")


def resource_id_violations(field: str, value: str | None) -> list[FieldViolation]:
    if not value:
        return [FieldViolation(field, "is required")]
    if not RESOURCE_ID.match(value):
        return [
            FieldViolation(
                field,
                "must be 1-63 characters of lowercase letters, digits and '-', "
                "start with a letter and not end with '-'",
            )
        ]
    return []


def topic_name_violations(field: str, value: str | None) -> list[FieldViolation]:
    if not value:
        return [FieldViolation(field, "is required")]
    if value in (".", ".."):
        return [FieldViolation(field, "may not be '.' or '..'")]
    if len(value) > 249:
        return [FieldViolation(field, "may be at most 249 characters")]
    if not TOPIC_NAME.match(value):
        return [FieldViolation(field, "may contain only ASCII letters, digits, '.', '_' and '-'")]
    if value.startswith("__"):
        return [FieldViolation(field, "names starting with '__' are reserved for Kafka")]
    return []


def topic_collision_key(name: str) -> str:
    """Kafka treats '.' and '_' as equal in metric names; two such topics may not coexist."""
    return name.replace(".", "_")
