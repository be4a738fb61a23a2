"""consumer group actions: offset resets and deletions waiting for a worker

Revision ID: c6f1a9d3e2b7
Revises: 7d2e4f6a8b10
Create Date: 2026-12-02 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c6f1a9d3e2b7"
down_revision: str | Sequence[str] | None = "7d2e4f6a8b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consumer_group_actions",
        sa.Column("uid", sa.Uuid(), nullable=False),
        sa.Column("operation_uid", sa.Uuid(), nullable=False),
        sa.Column("cluster_uid", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.String(length=63), nullable=False),
        sa.Column("cluster_id", sa.String(length=63), nullable=False),
        sa.Column("group_id", sa.String(length=255), nullable=False),
        sa.Column("verb", sa.String(length=32), nullable=False),
        sa.Column(
            "spec", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_uid"],
            ["clusters.uid"],
            name=op.f("fk_consumer_group_actions_cluster_uid_clusters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operation_uid"],
            ["operations.uid"],
            name=op.f("fk_consumer_group_actions_operation_uid_operations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uid", name=op.f("pk_consumer_group_actions")),
        sa.UniqueConstraint("operation_uid", name=op.f("uq_consumer_group_actions_operation_uid")),
    )
    op.create_index(
        op.f("ix_consumer_group_actions_cluster_uid"),
        "consumer_group_actions",
        ["cluster_uid"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_consumer_group_actions_cluster_uid"), table_name="consumer_group_actions"
    )
    op.drop_table("consumer_group_actions")
