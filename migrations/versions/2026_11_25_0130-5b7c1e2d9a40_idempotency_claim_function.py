"""idempotency claim function: take a key's lock, then read its record with a fresh snapshot

Revision ID: 5b7c1e2d9a40
Revises: aebd1ed18a7f
Create Date: 2026-11-25 01:30:00

One statement that reads the record beside `pg_try_advisory_xact_lock` reads it with the
statement's snapshot, taken before the lock: a first request that committed (and so released the
lock) in between is invisible to it, and its retry would act again instead of replaying. In a
VOLATILE PL/pgSQL function every statement takes a new snapshot (READ COMMITTED), so the read
below runs after the lock and sees every committed response — still one round trip.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b7c1e2d9a40"
down_revision: str | Sequence[str] | None = "aebd1ed18a7f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION kplane_idempotency_claim(lock_id bigint, p_principal text, p_key text)
        RETURNS TABLE (
            locked boolean,
            request_hash varchar,
            status_code integer,
            body_ciphertext bytea,
            create_time timestamptz
        )
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            IF NOT pg_try_advisory_xact_lock(lock_id) THEN
                RETURN QUERY SELECT false, NULL::varchar, NULL::integer, NULL::bytea,
                    NULL::timestamptz;
                RETURN;
            END IF;
            RETURN QUERY SELECT true, k.request_hash, k.status_code, k.body_ciphertext,
                k.create_time
                FROM idempotency_keys AS k WHERE k.principal = p_principal AND k.key = p_key;
            IF NOT FOUND THEN
                RETURN QUERY SELECT true, NULL::varchar, NULL::integer, NULL::bytea,
                    NULL::timestamptz;
            END IF;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION kplane_idempotency_claim(bigint, text, text)")
