"""PURE: ACL bindings by set difference, among the resource patterns kplane manages.

A binding on a pattern that no `acls` row names is never created or deleted: users and other
tools may keep ACLs of their own on the same brokers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PatternKey = tuple[str, str, str]  # resource_type, resource_name, pattern_type


@dataclass(frozen=True, order=True)
class Binding:
    resource_type: str
    resource_name: str
    pattern_type: str
    principal: str
    host: str
    operation: str
    permission_type: str

    @property
    def pattern(self) -> PatternKey:
        return (self.resource_type, self.resource_name, self.pattern_type)


@dataclass(frozen=True)
class DesiredAcl:
    uid: uuid.UUID
    resource_type: str
    resource_name: str
    pattern_type: str
    entries: Sequence[Mapping[str, Any]]
    deleting: bool = False

    @property
    def pattern(self) -> PatternKey:
        return (self.resource_type, self.resource_name, self.pattern_type)

    def bindings(self) -> set[Binding]:
        return {
            Binding(
                self.resource_type,
                self.resource_name,
                self.pattern_type,
                str(e["principal"]),
                str(e.get("host", "*")),
                str(e["operation"]),
                str(e.get("permission_type", "ALLOW")),
            )
            for e in self.entries
        }


@dataclass
class AclPlan:
    create: list[Binding] = field(default_factory=list)
    delete: list[Binding] = field(default_factory=list)
    # Rows being deleted: their pattern will hold no binding once this plan is applied.
    gone: list[uuid.UUID] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.create or self.delete)


def plan(desired: Sequence[DesiredAcl], observed: Iterable[Binding]) -> AclPlan:
    managed = {a.pattern for a in desired}
    want: set[Binding] = set()
    for acl in desired:
        if not acl.deleting:
            want |= acl.bindings()
    have = {b for b in observed if b.pattern in managed}
    return AclPlan(
        create=sorted(want - have),
        delete=sorted(have - want),
        gone=[a.uid for a in desired if a.deleting],
    )
