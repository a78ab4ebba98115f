"""Webhook deliveries carry their subject (`check:<check_id>` or `<type>:<id>`), indexed, so the
ordering rule reads only the pending deliveries of the subjects that are due.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fapiao.webhooks.policy import subject_key

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_deliveries = sa.table(
    "webhook_deliveries",
    sa.column("id", sa.BigInteger()),
    sa.column("event_type", sa.String(16)),
    sa.column("event_id", sa.String(80)),
    sa.column("subject", sa.String(96)),
)


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("subject", sa.String(96), nullable=True))
    if not op.get_context().as_sql:  # offline SQL is for a new database: no rows to fill
        bind = op.get_bind()
        rows = bind.execute(sa.select(_deliveries.c.id, _deliveries.c.event_type, _deliveries.c.event_id))
        filled = [{"row_id": i, "row_subject": subject_key(t, e)} for i, t, e in rows]
        if filled:
            bind.execute(
                _deliveries.update()
                .where(_deliveries.c.id == sa.bindparam("row_id"))
                .values(subject=sa.bindparam("row_subject")),
                filled,
            )
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.alter_column("subject", existing_type=sa.String(96), nullable=False)
        batch.create_index("ix_webhook_deliveries_subject", ["subscription_id", "subject", "status"])


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_index("ix_webhook_deliveries_subject")
        batch.drop_column("subject")
