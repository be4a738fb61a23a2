"""The sweeper's re-encryption on a real, migrated Postgres: with a new password-encryption
key put in front of the old one, every user password and every remembered secret response an
old key protects is written again under the new key (and reads back the same), what is under
the new key already is left alone, a secret no configured key reads is reported and kept, and
a password changed between the read and the write is not overwritten with its old value."""

from __future__ import annotations

import uuid

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from app.core import secrets
from app.core.settings import get_settings
from app.models import Cluster, IdempotencyRecord, User
from tests.integration.workers.conftest import cluster_row
from workers.tasks import sweeper

OLD, NEW, STRAY = (Fernet.generate_key().decode() for _ in range(3))


@pytest.fixture
def keys(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Settings whose key list the test sets (restored afterwards), and no user or remembered
    response left by an earlier test of the module (the sweeper walks whole tables)."""
    with Session(engine, expire_on_commit=False) as session:
        session.execute(delete(User))
        session.execute(delete(IdempotencyRecord))
        session.commit()
    monkeypatch.setattr(get_settings(), "password_encryption_key", OLD)
    return monkeypatch


def _user(c: Cluster, name: str, password: str) -> User:
    material = secrets.scram_sha512(password)
    return User(
        project_id="p",
        cluster_id=c.cluster_id,
        cluster_uid=c.uid,
        user_id=name,
        quotas={},
        scram_salt=material.salt,
        scram_iterations=material.iterations,
        scram_stored_key=material.stored_key,
        scram_server_key=material.server_key,
        password_ciphertext=secrets.encrypt(password),
    )


def _record(key: str, body: bytes, encrypted: bool) -> IdempotencyRecord:
    return IdempotencyRecord(
        principal="admin",
        key=key,
        request_hash="0" * 64,
        status_code=200,
        body=secrets.encrypt_bytes(body) if encrypted else body,
        body_encrypted=encrypted,
    )


def _under(key: str, ciphertext: bytes) -> bytes:
    return Fernet(key.encode()).decrypt(ciphertext)


def test_a_new_key_in_front_rewrites_what_older_keys_protect(
    engine: Engine, keys: pytest.MonkeyPatch
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        c = cluster_row(session, f"c-{uuid.uuid4().hex[:8]}")
        users = [_user(c, f"u{i}", f"password-{i}") for i in range(7)]
        session.add_all(users)
        session.add_all(
            [_record("secret", b'{"secret":"s"}', True), _record("plain", b"{}", False)]
        )
        session.commit()
    keys.setattr(get_settings(), "password_encryption_key", f"{NEW},{OLD}")
    with Session(engine, expire_on_commit=False) as session:
        session.add(_user(c, "fresh", "password-fresh"))  # under NEW already
        session.commit()
        fresh = session.scalars(select(User).where(User.user_id == "fresh")).one()
        fresh_ciphertext = fresh.password_ciphertext

        # Batches of 3: the walk crosses batch boundaries.
        assert sweeper.reencrypt(session, batch=3) == (7 + 1, 0)
        for u in session.scalars(select(User).where(User.cluster_uid == c.uid)):
            plaintext = _under(NEW, u.password_ciphertext).decode()
            assert plaintext == f"password-{u.user_id.removeprefix('u')}"
            with pytest.raises(InvalidToken):
                _under(OLD, u.password_ciphertext)
        kept = session.get(User, fresh.uid)
        assert kept is not None and kept.password_ciphertext == fresh_ciphertext
        record = session.get(IdempotencyRecord, ("admin", "secret"))
        assert record is not None and _under(NEW, record.body) == b'{"secret":"s"}'
        plain = session.get(IdempotencyRecord, ("admin", "plain"))
        assert plain is not None and plain.body == b"{}"
        # The second run finds nothing to do.
        assert sweeper.reencrypt(session) == (0, 0)
        # Now the old key can go.
        keys.setattr(get_settings(), "password_encryption_key", NEW)
        assert secrets.decrypt(kept.password_ciphertext) == "password-fresh"


def test_unreadable_secrets_are_reported_and_kept(engine: Engine, keys: pytest.MonkeyPatch) -> None:
    with Session(engine, expire_on_commit=False) as session:
        c = cluster_row(session, f"c-{uuid.uuid4().hex[:8]}")
        keys.setattr(get_settings(), "password_encryption_key", STRAY)
        stray = _user(c, "stray", "password-stray")
        session.add(stray)
        session.commit()
        ciphertext = stray.password_ciphertext
        keys.setattr(get_settings(), "password_encryption_key", f"{NEW},{OLD}")
        assert sweeper.reencrypt(session)[1] == 1
        session.expire_all()
        kept = session.get(User, stray.uid)
        assert kept is not None and kept.password_ciphertext == ciphertext


def test_a_password_changed_meanwhile_is_not_overwritten(
    engine: Engine, keys: pytest.MonkeyPatch
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        c = cluster_row(session, f"c-{uuid.uuid4().hex[:8]}")
        u = _user(c, "busy", "old-password")
        session.add(u)
        session.commit()
        uid = u.uid
    keys.setattr(get_settings(), "password_encryption_key", f"{NEW},{OLD}")
    real = secrets.reencrypted

    def racing(ciphertext: bytes) -> bytes | None:
        """Between the sweeper's read and its write, the API sets a new password."""
        out = real(ciphertext)
        with Session(engine) as api:
            api.execute(
                update(User)
                .where(User.uid == uid)
                .values(password_ciphertext=secrets.encrypt("new-password"))
            )
            api.commit()
        return out

    keys.setattr(sweeper, "reencrypted", racing)
    with Session(engine, expire_on_commit=False) as session:
        assert sweeper.reencrypt(session) == (0, 0)
        user = session.get(User, uid)
        assert user is not None and secrets.decrypt(user.password_ciphertext) == "new-password"
