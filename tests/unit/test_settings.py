"""The password-encryption key list and the broker-credential key (app/core/settings.py)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from app.core.settings import Settings

A, B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_one_key_is_both_the_encryption_key_and_the_credential_key() -> None:
    s = Settings(password_encryption_key=A)
    assert s.fernet_keys == (A.encode(),)
    assert s.credential_key == A.encode()


def test_a_new_key_in_front_changes_no_broker_credential() -> None:
    s = Settings(password_encryption_key=f" {B} , {A} ")
    assert s.fernet_keys == (B.encode(), A.encode())
    assert s.credential_key == A.encode()  # the oldest
    pinned = Settings(password_encryption_key=B, broker_credential_key=A)
    assert pinned.credential_key == A.encode()


def test_dev_derives_one_key_from_the_secret_key() -> None:
    s = Settings(secret_key="a-dev-secret-of-some-length")
    (key,) = s.fernet_keys
    Fernet(key)  # a valid key
    assert Settings(secret_key="another-dev-secret-value").fernet_keys != s.fernet_keys


def test_a_malformed_key_is_refused_at_start_naming_it() -> None:
    with pytest.raises(ValidationError, match="key 2 is not a Fernet key"):
        Settings(password_encryption_key=f"{A},not-a-key")
