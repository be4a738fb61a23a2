"""PURE: which SCRAM credentials to set or remove, and which client quotas to change.

A broker never reveals a password or salt, so "is the password current?" is answered by the
password_version the workers last pushed (kept in the user's status), together with whether
the broker has a SCRAM-SHA-512 credential for the user at all. Quotas are a set difference
per user entity over the three keys kplane manages; other keys and other users' entities are
left alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DesiredUser:
    uid: uuid.UUID
    name: str
    password_version: int
    applied_password_version: int
    quotas: Mapping[str, Any]
    deleting: bool = False


@dataclass
class UserPlan:
    upsert: list[DesiredUser] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    gone: list[uuid.UUID] = field(default_factory=list)
    # user name -> quota values to set (None = remove that quota)
    quotas: dict[str, dict[str, float | None]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.upsert or self.delete or self.quotas)


QUOTA_KEYS = ("producer_byte_rate", "consumer_byte_rate", "request_percentage")


def quota_change(
    desired: Mapping[str, Any], actual: Mapping[str, float]
) -> dict[str, float | None]:
    change: dict[str, float | None] = {}
    for key in QUOTA_KEYS:
        want = desired.get(key)
        have = actual.get(key)
        if want is None and have is not None:
            change[key] = None
        elif want is not None and (have is None or float(want) != float(have)):
            change[key] = float(want)
    return change


def plan(
    desired: Sequence[DesiredUser],
    scram_users: set[str],
    quotas: Mapping[str, Mapping[str, float]] | None = None,
) -> UserPlan:
    out = UserPlan()
    for user in desired:
        if user.deleting:
            if user.name in scram_users:
                out.delete.append(user.name)
            out.gone.append(user.uid)
            # Only the keys kplane manages: a quota someone else set on the entity stays.
            have = quotas.get(user.name, {}) if quotas is not None else {}
            removed = dict.fromkeys(k for k in QUOTA_KEYS if k in have)
            if removed:
                out.quotas[user.name] = removed
            continue
        if user.name not in scram_users or user.applied_password_version != user.password_version:
            out.upsert.append(user)
        if quotas is not None:
            change = quota_change(user.quotas, quotas.get(user.name, {}))
            if change:
                out.quotas[user.name] = change
    return out
