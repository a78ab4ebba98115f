"""Alembic environment: runs on the connection `fapiao.accounts.db.migrate` passes in, or renders SQL
offline for a URL (`alembic upgrade head --sql`, used to prove the migrations are portable)."""

from __future__ import annotations

from alembic import context

from fapiao.accounts.models import Base
from fapiao.cases import tables as _cases_tables  # noqa: F401  (their tables are on Base)
from fapiao.reviews import tables as _review_tables  # noqa: F401  (the review queue's tables too)
from fapiao.webhooks import tables as _webhook_tables  # noqa: F401

config = context.config

if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=Base.metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    context.configure(
        connection=config.attributes["connection"], target_metadata=Base.metadata, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()
