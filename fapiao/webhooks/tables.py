"""Subscriptions and the delivery log, in the accounts store (per organisation, mutable, small)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fapiao.accounts.models import Base, UtcDateTime


class WebhookSubscription(Base):
    """Where an organisation wants its events: an HTTPS URL (signed POSTs) or an email address (mail,
    when the deployment has SMTP). `events` is comma-separated from policy.EVENT_TYPES."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        CheckConstraint("kind IN ('url', 'email')", name="kind"),
        Index("ix_webhook_subscriptions_org", "org_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(500))  # the URL or the email address
    events: Mapped[str] = mapped_column(String(64))
    secret: Mapped[str] = mapped_column(Text)  # SM4-GCM envelope of the signing secret
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # automatic pause after failures
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WebhookDelivery(Base):
    """One event for one subscription, and how its delivery went (the last attempt's answer)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_subscription_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_org", "org_id", "id"),
        Index("ix_webhook_deliveries_subject", "subscription_id", "subject", "status"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    org_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(96))  # policy.subject_key: what the ordering rule groups by
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_response: Mapped[str | None] = mapped_column(Text)  # first 500 characters of the body
    last_error: Mapped[str | None] = mapped_column(Text)  # timeout, connection refused, …
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
