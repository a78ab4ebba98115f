"""Login/registration/reset limits and unknown-email lockouts in the accounts store, shared by every API
process (they were in each process's memory: N processes allowed N times the limit).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_buckets",
        sa.Column("bucket", sa.String(100), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_auth_buckets")),
    )
    op.create_index(op.f("ix_auth_buckets_at"), "auth_buckets", ["at"])
    op.create_table(
        "stranger_failures",
        sa.Column("email_ref", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("email_ref", name=op.f("pk_stranger_failures")),
    )
    op.create_index(op.f("ix_stranger_failures_failed_at"), "stranger_failures", ["failed_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_stranger_failures_failed_at"), table_name="stranger_failures")
    op.drop_table("stranger_failures")
    op.drop_index(op.f("ix_auth_buckets_at"), table_name="auth_buckets")
    op.drop_table("auth_buckets")
