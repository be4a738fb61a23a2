"""User passwords: generation, SCRAM-SHA-512 material (RFC 5802/7677) and encryption at rest.

The workers need the plaintext once, to hand it with the salt to the Admin API, so besides the
SCRAM material it is kept as a Fernet ciphertext under the newest of the configured keys (read
under any of them, so a new key can be put in front while the sweeper re-encrypts what older
ones protect: `reencrypted`). Nothing here logs, and the plaintext leaves only in the response
of the call that set it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import string
import uuid
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.core.settings import get_settings

SCRAM_ITERATIONS = 4096  # Kafka's minimum for SCRAM-SHA-512
_ALPHABET = string.ascii_letters + string.digits


def generate_password(length: int = 32) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class ScramMaterial:
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


def scram_sha512(
    password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS
) -> ScramMaterial:
    salt = salt if salt is not None else os.urandom(32)
    salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha512).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha512).digest()
    return ScramMaterial(salt, iterations, hashlib.sha512(client_key).digest(), server_key)


@lru_cache(maxsize=4)
def _keyring(keys: tuple[bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def encrypt_bytes(plaintext: bytes) -> bytes:
    """Fernet (AES-128-CBC + HMAC-SHA256) under the newest configured key."""
    return _keyring(get_settings().fernet_keys).encrypt(plaintext)


def decrypt_bytes(ciphertext: bytes) -> bytes:
    """The plaintext, under whichever configured key encrypted it (InvalidToken if none)."""
    return _keyring(get_settings().fernet_keys).decrypt(ciphertext)


def reencrypted(ciphertext: bytes) -> bytes | None:
    """`ciphertext` encrypted again under the newest key, or None when it is under that key
    already. InvalidToken when no configured key reads it."""
    keys = get_settings().fernet_keys
    try:
        _keyring(keys[:1]).decrypt(ciphertext)
        return None
    except InvalidToken:
        return _keyring(keys).rotate(ciphertext)


def encrypt(plaintext: str) -> bytes:
    return encrypt_bytes(plaintext.encode())


def decrypt(ciphertext: bytes) -> str:
    return decrypt_bytes(ciphertext).decode()


# The control plane's own principal on every Kafka cluster (a super user of the brokers).
ADMIN_USERNAME = "kplane-admin"


def admin_password(secret_key: bytes, cluster_uid: uuid.UUID) -> str:
    """The control plane's broker credential, derived (HMAC) from the control plane's secret,
    so it need not be stored anywhere but the cluster's Secret and is the same on every pass —
    and the API's read-only Kafka client derives the same one."""
    mac = hmac.new(secret_key, f"kafka-admin:{cluster_uid}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")
