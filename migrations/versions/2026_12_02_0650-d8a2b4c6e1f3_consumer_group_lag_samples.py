"""consumer group lag samples: the bounded lag history the workers' sampler writes

Revision ID: d8a2b4c6e1f3
Revises: c6f1a9d3e2b7
Create Date: 2026-12-02 06:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d8a2b4c6e1f3"
down_revision: str | Sequence[str] | None = "c6f1a9d3e2b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consumer_group_lag_samples",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("cluster_uid", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.String(length=255), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_lag", sa.BigInteger(), nullable=False),
        sa.Column("max_lag", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_uid"],
            ["clusters.uid"],
            name=op.f("fk_consumer_group_lag_samples_cluster_uid_clusters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumer_group_lag_samples")),
    )
    op.create_index(
        "ix_consumer_group_lag_samples_cluster_uid_group_id_time",
        "consumer_group_lag_samples",
        ["cluster_uid", "group_id", "time"],
        unique=False,
    )
    op.create_index(
        "ix_consumer_group_lag_samples_time", "consumer_group_lag_samples", ["time"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_consumer_group_lag_samples_time", table_name="consumer_group_lag_samples")
    op.drop_index(
        "ix_consumer_group_lag_samples_cluster_uid_group_id_time",
        table_name="consumer_group_lag_samples",
    )
    op.drop_table("consumer_group_lag_samples")
