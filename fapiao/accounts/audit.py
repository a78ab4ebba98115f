"""The security audit log: logins and failures, key use, role changes, exports."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fapiao.accounts.models import AuditEvent
from fapiao.crypto.sm3 import sm3_hex


def email_actor(email: str) -> str:
    """How an unauthenticated attempt is named: never the raw email, which may be mistyped secrets."""
    return "email:" + sm3_hex(email.strip().lower().encode("utf-8"))[:16]


def record(
    session: Session,
    at: datetime,
    kind: str,
    actor: str,
    org_id: str | None = None,
    outcome: str = "ok",
    ip: str | None = None,
    **detail: Any,
) -> None:
    session.add(
        AuditEvent(
            at=at,
            org_id=org_id,
            actor=actor[:100],
            kind=kind,
            outcome=outcome,
            ip=ip,
            detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
        )
    )


def events(session: Session, org_id: str, limit: int = 100, before_id: int | None = None) -> list[AuditEvent]:
    """An organisation's newest audit events first."""
    query = select(AuditEvent).where(AuditEvent.org_id == org_id)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))
