"""Migration 0008 fills the subject of deliveries made before it (the ordering rule groups by it)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from fapiao.accounts.db import alembic_config


def _upgrade(engine: sa.Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_deliveries_made_before_0008_get_their_subject(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/old.db")  # no foreign keys: no org rows needed
    _upgrade(engine, "0007")
    with engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO webhook_subscriptions (id, org_id, kind, target, secret, events, active,"
                " consecutive_failures, created_by, created_at) VALUES ('s1', 'org-a', 'url',"
                " 'http://127.0.0.1:1/h', 'x', 'result', 1, 0, 'ada', '2026-12-08 00:00:00')"
            )
        )
        for i, (kind, event_id) in enumerate(
            [("result", "c-1:1"), ("follow_up", "c-1:2"), ("alert", "a-9")], start=1
        ):
            c.execute(
                sa.text(
                    "INSERT INTO webhook_deliveries (id, subscription_id, org_id, event_type, event_id,"
                    " payload, status, attempts, next_attempt_at, created_at) VALUES"
                    " (:i, 's1', 'org-a', :k, :e, '{}', 'pending', 0, '2026-12-08 00:00:00',"
                    " '2026-12-08 00:00:00')"
                ),
                {"i": i, "k": kind, "e": event_id},
            )
    _upgrade(engine, "head")
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT id, subject FROM webhook_deliveries ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(1, "check:c-1"), (2, "check:c-1"), (3, "alert:a-9")]
