"""Cases of risk alerts (人工复核): status, assignee, due time, and their history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_cases",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("alert_id", sa.String(36), nullable=False),
        sa.Column("check_id", sa.String(36), nullable=False),
        sa.Column("invoice_key", sa.String(40), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(32), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('new', 'in_review', 'confirmed_fraud', 'confirmed_error', 'dismissed')",
            name=op.f("ck_alert_cases_status"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_alert_cases_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("org_id", "alert_id", name=op.f("pk_alert_cases")),
    )
    op.create_index("ix_alert_cases_org_status", "alert_cases", ["org_id", "status"])
    op.create_index("ix_alert_cases_org_assignee", "alert_cases", ["org_id", "assignee"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("alert_id", sa.String(36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    op.create_index("ix_case_events_org_alert", "case_events", ["org_id", "alert_id"])


def downgrade() -> None:
    op.drop_table("case_events")
    op.drop_table("alert_cases")
