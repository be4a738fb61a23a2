"""Configuration of the control plane, read once from the environment (prefix ``KPLANE_``).

Secrets have no usable default outside development: a production process refuses to start with a
placeholder, so a forgotten value fails loudly instead of signing page tokens with a known key.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_PLACEHOLDER = "dev-only-not-a-secret"
REPO_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Every setting of the API and the workers; one instance per process."""

    model_config = SettingsConfigDict(env_prefix="KPLANE_", extra="ignore")

    environment: Literal["dev", "test", "prod"] = "dev"
    database_url: str = "postgresql+asyncpg://kplane@127.0.0.1:5432/kplane"
    redis_url: str = "redis://127.0.0.1:6379/0"
    admin_token: str = DEV_PLACEHOLDER
    # Signs page tokens (HMAC) and derives the password-encryption key when none is given.
    secret_key: str = DEV_PLACEHOLDER
    # Fernet key (urlsafe base64 of 32 bytes) protecting the secrets kept for the workers (user
    # passwords, remembered responses that carry a secret) — or several, comma-separated and
    # newest first: secrets are encrypted under the first and read under any, and the sweeper
    # re-encrypts older ones under the first (docs/operations.md, "Rotating kplane's keys").
    password_encryption_key: str = ""
    # The key the control plane's broker credentials are derived from (HMAC). Unset: the last,
    # oldest, password-encryption key — so that putting a new key in front changes no
    # credential. Set it to that key before dropping it from the list.
    broker_credential_key: str = ""
    kafka_versions_file: Path = REPO_ROOT / "broker" / "versions.json"
    max_body_bytes: int = 1024 * 1024
    idempotency_ttl_hours: int = 24
    # Requests per second and burst per principal (token bucket); 0 disables the limiter.
    # Generous on purpose: Terraform applies of thousands of topics must not hit it.
    rate_limit_per_second: float = 2000.0
    rate_limit_burst: int = 10000
    # Seconds an authenticated token stays cached in-process (revocation takes effect after it).
    token_cache_seconds: float = 5.0
    log_level: str = "INFO"
    enqueue_timeout_seconds: float = 0.5

    @model_validator(mode="after")
    def _refuse_placeholders_in_prod(self) -> Settings:
        if self.environment == "prod":
            for field in ("admin_token", "secret_key"):
                value = getattr(self, field)
                if value == DEV_PLACEHOLDER or len(value) < 16:
                    raise ValueError(f"KPLANE_{field.upper()} must be set to a real secret in prod")
            if not self.password_encryption_key:
                raise ValueError("KPLANE_PASSWORD_ENCRYPTION_KEY must be set in prod")
        for i, key in enumerate(self.fernet_keys):
            try:
                Fernet(key)
            except ValueError:
                raise ValueError(
                    f"KPLANE_PASSWORD_ENCRYPTION_KEY: key {i + 1} is not a Fernet key "
                    "(urlsafe base64 of 32 bytes)"
                ) from None
        return self

    @property
    def fernet_keys(self) -> tuple[bytes, ...]:
        """The password-encryption keys, newest first; in dev one, derived from secret_key, so
        that one secret suffices."""
        keys = tuple(k.strip().encode() for k in self.password_encryption_key.split(","))
        if any(keys):
            return tuple(k for k in keys if k)
        digest = hashlib.sha256(b"kplane-password-key:" + self.secret_key.encode()).digest()
        return (base64.urlsafe_b64encode(digest),)

    @property
    def credential_key(self) -> bytes:
        """The key broker credentials are derived from: broker_credential_key, else the oldest
        password-encryption key (see the setting)."""
        if self.broker_credential_key:
            return self.broker_credential_key.encode()
        return self.fernet_keys[-1]

    @property
    def sync_database_url(self) -> str:
        """The same database for synchronous code (Alembic, Celery workers) through psycopg."""
        return self.database_url.replace("+asyncpg", "+psycopg")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
