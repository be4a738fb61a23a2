"""Rules of SCRAM users: ids, passwords (generated or given, never stored in clear), quotas.
Never commits."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from app.core.errors import aborted, already_exists, not_found
from app.core.ids import resource_id_violations
from app.core.pools import Connection
from app.core.resource import label_violations, raise_if
from app.core.secrets import encrypt, generate_password, scram_sha512
from app.core.unit import Unit, apply_changes
from app.models import Cluster, Operation, ResourceStatus, User
from app.models.base import utcnow
from app.operations import service as operations
from app.users import repository
from app.users.schemas import UserIn
from app.users.views import body, name_of

KIND = "user"


def _desired(u: User) -> dict[str, Any]:
    return {"quotas": u.quotas, "password_version": u.password_version}


def _start(
    unit: Unit,
    u: User,
    verb: str,
    request_id: str,
    finished: dict[str, Any] | None = None,
) -> Operation:
    return operations.start_reconcile(
        unit,
        u,
        kind=KIND,
        target=name_of(u.project_id, u.cluster_id, u.user_id),
        cluster_uid=u.cluster_uid,
        verb=verb,
        task="users.reconcile",
        request_id=request_id,
        finished=finished,
    )


async def _password(password: str | None) -> tuple[str, dict[str, Any]]:
    """The password (given, or generated) and the columns that store it: its SCRAM material
    and its ciphertext for the workers, never the clear text."""
    plaintext = password if password is not None else generate_password()
    # PBKDF2 with 4096 rounds of SHA-512 takes milliseconds: keep it off the event loop.
    material = await asyncio.to_thread(scram_sha512, plaintext)
    return plaintext, {
        "scram_salt": material.salt,
        "scram_iterations": material.iterations,
        "scram_stored_key": material.stored_key,
        "scram_server_key": material.server_key,
        "password_ciphertext": encrypt(plaintext),
    }


async def get(
    connection: Connection, project_id: str, cluster_id: str, user_id: str
) -> tuple[User, ResourceStatus | None]:
    found = await repository.get(connection, project_id, cluster_id, user_id)
    if found is None:
        raise not_found(KIND, name_of(project_id, cluster_id, user_id))
    return found


async def create(
    unit: Unit, cluster: Cluster, user_id: str, body_in: UserIn, request_id: str
) -> tuple[Operation, str]:
    raise_if(resource_id_violations("user_id", user_id) + label_violations(body_in.labels))
    # Read first, unlike the other creates: a duplicate does not pay for the SCRAM derivation.
    if await repository.get(unit.connection, cluster.project_id, cluster.cluster_id, user_id):
        raise already_exists(KIND, name_of(cluster.project_id, cluster.cluster_id, user_id))

    async def explain() -> Exception:
        return already_exists(KIND, name_of(cluster.project_id, cluster.cluster_id, user_id))

    unit.on_conflict(explain)  # a concurrent create of the same user
    secret = body_in.password.get_secret_value() if body_in.password is not None else None
    plaintext, stored = await _password(secret)
    now = utcnow()
    user = unit.add(
        User,
        uid=uuid.uuid4(),
        cluster_uid=cluster.uid,
        project_id=cluster.project_id,
        cluster_id=cluster.cluster_id,
        user_id=user_id,
        password_version=1,
        quotas=body_in.quotas.model_dump(exclude_none=True),
        labels=dict(body_in.labels),
        generation=1,
        version=1,
        create_time=now,
        update_time=now,
        delete_time=None,
        **stored,
    )
    return _start(unit, user, "create", request_id), plaintext


def _live(user: User) -> None:
    if user.delete_time is not None:
        raise aborted("USER_DELETING", "the user is being deleted")


def update(
    unit: Unit,
    user: User,
    status: ResourceStatus | None,
    body_in: UserIn,
    fields: set[str],
    request_id: str,
) -> Operation:
    _live(user)
    raise_if(label_violations(body_in.labels) if "labels" in fields else [])
    values = {
        "quotas": body_in.quotas.model_dump(exclude_none=True),
        "labels": dict(body_in.labels),
    }
    if apply_changes(unit, User, user, {f: values[f] for f in fields}, _desired):
        return _start(unit, user, "update", request_id)
    return _start(unit, user, "update", request_id, finished=body(user, status))


async def rotate_password(
    unit: Unit, user: User, password: str | None, request_id: str
) -> tuple[Operation, str]:
    _live(user)
    plaintext, stored = await _password(password)
    new = {**stored, "password_version": user.password_version + 1}
    apply_changes(unit, User, user, new, _desired)
    return _start(unit, user, "rotatePassword", request_id), plaintext


async def delete(unit: Unit, user: User, request_id: str) -> Operation:
    return await operations.request_delete(
        unit, User, user, lambda: _start(unit, user, "delete", request_id)
    )
