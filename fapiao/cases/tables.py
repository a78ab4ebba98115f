"""The cases tables, in the accounts store (same metadata and migrations as organisations and users):
cases are mutable, per organisation and small, which the warehouse is not made for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fapiao.accounts.models import Base, UtcDateTime


class AlertCase(Base):
    """One case per alert of an organisation; created when someone first acts on the alert (an alert
    without a case is `new`)."""

    __tablename__ = "alert_cases"
    __table_args__ = (
        CheckConstraint(
            "status IN ('new', 'in_review', 'confirmed_fraud', 'confirmed_error', 'dismissed')",
            name="status",
        ),
        Index("ix_alert_cases_org_status", "org_id", "status"),
        Index("ix_alert_cases_org_assignee", "org_id", "assignee"),
    )

    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    check_id: Mapped[str] = mapped_column(String(36))
    invoice_key: Mapped[str] = mapped_column(String(40))
    reasons: Mapped[str] = mapped_column(Text)  # JSON list, copied from the alert
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(32))  # user id
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decision_version: Mapped[int] = mapped_column(Integer, default=0)  # alert_decisions.version
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CaseEvent(Base):
    """A case's history: every change (field, old → new) and every comment, in order."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_org_alert", "org_id", "alert_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    org_id: Mapped[str] = mapped_column(String(64))
    alert_id: Mapped[str] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # created | status | assignee | due | comment
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)  # the comment's text for kind = comment
