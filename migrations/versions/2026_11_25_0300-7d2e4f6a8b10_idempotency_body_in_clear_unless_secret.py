"""idempotency records: the stored response is encrypted only when it carries a secret

Revision ID: 7d2e4f6a8b10
Revises: 5b7c1e2d9a40
Create Date: 2026-11-25 03:00:00

`body_ciphertext` becomes `body` with a `body_encrypted` flag: responses that carry a secret (a
token, a password) stay encrypted; the others (a topic's Operation) are kept as they are sent,
which saves an encryption per create. Records written before stay encrypted and say so. The
claim function returns the two columns.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d2e4f6a8b10"
down_revision: str | Sequence[str] | None = "5b7c1e2d9a40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLAIM = """
CREATE FUNCTION kplane_idempotency_claim(lock_id bigint, p_principal text, p_key text)
RETURNS TABLE (
    locked boolean,
    request_hash varchar,
    status_code integer,
    {body_columns},
    create_time timestamptz
)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(lock_id) THEN
        RETURN QUERY SELECT false, NULL::varchar, NULL::integer, {nulls}, NULL::timestamptz;
        RETURN;
    END IF;
    RETURN QUERY SELECT true, k.request_hash, k.status_code, {selected}, k.create_time
        FROM idempotency_keys AS k WHERE k.principal = p_principal AND k.key = p_key;
    IF NOT FOUND THEN
        RETURN QUERY SELECT true, NULL::varchar, NULL::integer, {nulls}, NULL::timestamptz;
    END IF;
END
$$
"""


def upgrade() -> None:
    op.execute("DROP FUNCTION kplane_idempotency_claim(bigint, text, text)")
    op.alter_column("idempotency_keys", "body_ciphertext", new_column_name="body")
    op.add_column(
        "idempotency_keys",
        sa.Column("body_encrypted", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.alter_column("idempotency_keys", "body_encrypted", server_default=None)
    op.execute(
        _CLAIM.format(
            body_columns="body bytea, body_encrypted boolean",
            nulls="NULL::bytea, NULL::boolean",
            selected="k.body, k.body_encrypted",
        )
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION kplane_idempotency_claim(bigint, text, text)")
    # Records kept in clear cannot be turned back into ciphertext here; they are dropped (a retry
    # of one of those requests then acts again, as after the 24 hours a record is kept).
    op.execute("DELETE FROM idempotency_keys WHERE NOT body_encrypted")
    op.drop_column("idempotency_keys", "body_encrypted")
    op.alter_column("idempotency_keys", "body", new_column_name="body_ciphertext")
    op.execute(
        _CLAIM.format(
            body_columns="body_ciphertext bytea",
            nulls="NULL::bytea",
            selected="k.body_ciphertext",
        )
    )
