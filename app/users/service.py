"""Rules of SCRAM users: ids, passwords (generated or given, never stored in clear), quotas.
Never commits."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Tx, Unit, add_row
from app.core.errors import aborted, already_exists, not_found
from app.core.ids import resource_id_violations
from app.core.resource import apply_changes, label_violations, raise_if
from app.core.secrets import encrypt, generate_password, scram_sha512
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
    session: Unit,
    u: User,
    verb: str,
    request_id: str,
    finished: dict[str, Any] | None = None,
) -> Operation:
    return operations.start_reconcile(
        session,
        u,
        kind=KIND,
        target=name_of(u.project_id, u.cluster_id, u.user_id),
        cluster_uid=u.cluster_uid,
        verb=verb,
        task="users.reconcile",
        request_id=request_id,
        finished=finished,
    )


async def _set_password(user: User, password: str | None) -> str:
    plaintext = password if password is not None else generate_password()
    # PBKDF2 with 4096 rounds of SHA-512 takes milliseconds: keep it off the event loop.
    material = await asyncio.to_thread(scram_sha512, plaintext)
    user.scram_salt = material.salt
    user.scram_iterations = material.iterations
    user.scram_stored_key = material.stored_key
    user.scram_server_key = material.server_key
    user.password_ciphertext = encrypt(plaintext)
    return plaintext


async def get(
    session: AsyncSession, project_id: str, cluster_id: str, user_id: str, for_update: bool = False
) -> tuple[User, ResourceStatus | None]:
    found = await repository.get(session, project_id, cluster_id, user_id, for_update)
    if found is None:
        raise not_found(KIND, name_of(project_id, cluster_id, user_id))
    return found


async def create(
    session: AsyncSession | Tx, cluster: Cluster, user_id: str, body_in: UserIn, request_id: str
) -> tuple[Operation, str]:
    raise_if(resource_id_violations("user_id", user_id) + label_violations(body_in.labels))
    if await repository.get(session, cluster.project_id, cluster.cluster_id, user_id):
        raise already_exists(KIND, name_of(cluster.project_id, cluster.cluster_id, user_id))
    now = utcnow()
    user = add_row(
        session,
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
    )
    secret = body_in.password.get_secret_value() if body_in.password is not None else None
    plaintext = await _set_password(user, secret)
    return _start(session, user, "create", request_id), plaintext


def _live(user: User) -> None:
    if user.delete_time is not None:
        raise aborted("USER_DELETING", "the user is being deleted")


async def update(
    session: AsyncSession, user: User, body_in: UserIn, fields: set[str], request_id: str
) -> Operation:
    _live(user)
    raise_if(label_violations(body_in.labels) if "labels" in fields else [])
    values = {
        "quotas": body_in.quotas.model_dump(exclude_none=True),
        "labels": dict(body_in.labels),
    }
    moved = apply_changes(user, {f: values[f] for f in fields}, _desired)
    if moved:
        return _start(session, user, "update", request_id)
    status = await session.get(ResourceStatus, user.uid)
    return _start(session, user, "update", request_id, finished=body(user, status))


async def rotate_password(
    session: AsyncSession, user: User, password: str | None, request_id: str
) -> tuple[Operation, str]:
    _live(user)
    plaintext = await _set_password(user, password)
    apply_changes(user, {"password_version": user.password_version + 1}, _desired)
    return _start(session, user, "rotatePassword", request_id), plaintext


async def delete(session: AsyncSession, user: User, request_id: str) -> Operation:
    return await operations.request_delete(
        session, user, lambda: _start(session, user, "delete", request_id)
    )
