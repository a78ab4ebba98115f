"""Subscriptions and deliveries in the accounts store: what the API manages and the webhooks process
fills (`enqueue`, from Kafka) and works off (`due`, `record`).

A delivery row exists before the Kafka offset of its event is committed, and is unique per
(subscription, event id), so a replayed event is not delivered twice and a crash loses nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fapiao.accounts import audit
from fapiao.accounts.context import AccountsContext
from fapiao.accounts.exceptions import NotFound
from fapiao.webhooks import policy
from fapiao.webhooks.tables import WebhookDelivery, WebhookSubscription

GONE = NotFound("no such webhook subscription in this organisation", "本组织没有该推送订阅")


def _context(sub_id: str) -> str:
    return f"webhook-secret:{sub_id}"


@dataclass(frozen=True)
class SubscriptionInfo:
    id: str
    kind: str
    target: str
    events: tuple[str, ...]
    active: bool
    paused_at: datetime | None
    consecutive_failures: int
    created_at: datetime


@dataclass(frozen=True)
class Target:
    """What the webhooks process keeps in memory to route events (no secret: that is read per delivery)."""

    id: str
    org_id: str
    events: frozenset[str]
    created_at: datetime


@dataclass(frozen=True)
class DeliveryInfo:
    id: int
    subscription_id: str
    event_type: str
    event_id: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_response: str | None
    last_error: str | None
    last_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class Due:
    """A delivery to attempt now, with what sending it needs."""

    id: int
    kind: str
    target: str
    secret: str
    event_type: str
    event_id: str
    payload: str
    attempts: int


def _sub(row: WebhookSubscription) -> SubscriptionInfo:
    return SubscriptionInfo(
        row.id,
        row.kind,
        row.target,
        tuple(row.events.split(",")),
        row.active,
        row.paused_at,
        row.consecutive_failures,
        row.created_at,
    )


def _delivery(r: WebhookDelivery) -> DeliveryInfo:
    return DeliveryInfo(
        r.id,
        r.subscription_id,
        r.event_type,
        r.event_id,
        r.status,
        r.attempts,
        r.next_attempt_at,
        r.last_status_code,
        r.last_response,
        r.last_error,
        r.last_attempt_at,
        r.created_at,
        r.delivered_at,
    )


def create(
    ctx: AccountsContext,
    org_id: str,
    actor: str,
    kind: str,
    target: str,
    events: Sequence[str],
    secret: str | None = None,
    ip: str | None = None,
) -> tuple[SubscriptionInfo, str]:
    """A new subscription and its signing secret (shown once; stored SM4-sealed)."""
    sub_id = "wh_" + secrets.token_hex(8)
    secret = secret or "whsec_" + secrets.token_urlsafe(24)
    now = ctx.clock()
    row = WebhookSubscription(
        id=sub_id,
        org_id=org_id,
        kind=kind,
        target=target,
        events=",".join(sorted(set(events))),
        secret=ctx.keys.sm4.encrypt_text(secret, _context(sub_id)),
        active=True,
        consecutive_failures=0,
        created_by=actor,
        created_at=now,
    )
    with ctx.sessions.begin() as s:
        s.add(row)
        audit.record(s, now, "webhook.created", actor, org_id, ip=ip, subscription=sub_id, target_kind=kind)
        s.flush()
        return _sub(row), secret


def listing(ctx: AccountsContext, org_id: str) -> list[SubscriptionInfo]:
    query = select(WebhookSubscription).where(WebhookSubscription.org_id == org_id)
    with ctx.sessions() as s:
        return [_sub(r) for r in s.scalars(query.order_by(WebhookSubscription.created_at))]


def _owned(s, org_id: str, sub_id: str) -> WebhookSubscription:  # type: ignore[no-untyped-def]
    row = s.get(WebhookSubscription, sub_id)
    if row is None or row.org_id != org_id:
        raise GONE
    return row


def change(
    ctx: AccountsContext,
    org_id: str,
    actor: str,
    sub_id: str,
    *,
    active: bool | None = None,
    target: str | None = None,
    events: Sequence[str] | None = None,
    ip: str | None = None,
) -> SubscriptionInfo:
    """Turning a subscription on again also lifts an automatic pause (and its failure count)."""
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        row = _owned(s, org_id, sub_id)
        if active is not None:
            row.active = active
            if active:
                row.paused_at, row.consecutive_failures = None, 0
        if target is not None:
            row.target = target
        if events is not None:
            row.events = ",".join(sorted(set(events)))
        audit.record(s, now, "webhook.changed", actor, org_id, ip=ip, subscription=sub_id, active=active)
        return _sub(row)


def delete(ctx: AccountsContext, org_id: str, actor: str, sub_id: str, ip: str | None = None) -> None:
    with ctx.sessions.begin() as s:
        row = _owned(s, org_id, sub_id)
        s.query(WebhookDelivery).filter(WebhookDelivery.subscription_id == sub_id).delete()
        s.delete(row)
        audit.record(s, ctx.clock(), "webhook.deleted", actor, org_id, ip=ip, subscription=sub_id)


def deliveries(
    ctx: AccountsContext, org_id: str, sub_id: str, limit: int = 50, before_id: int | None = None
) -> list[DeliveryInfo]:
    """The subscription's delivery log, newest first."""
    with ctx.sessions() as s:
        _owned(s, org_id, sub_id)
        query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub_id)
        if before_id is not None:
            query = query.where(WebhookDelivery.id < before_id)
        return [_delivery(r) for r in s.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit))]


def redeliver(
    ctx: AccountsContext, org_id: str, actor: str, delivery_id: int, ip: str | None = None
) -> DeliveryInfo:
    """Send a delivery again now (whatever its status), with a fresh attempt budget."""
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        row = s.get(WebhookDelivery, delivery_id)
        if row is None or row.org_id != org_id:
            raise NotFound("no such delivery in this organisation", "本组织没有该推送记录")
        row.status, row.attempts, row.next_attempt_at = "pending", 0, now
        audit.record(s, now, "webhook.redelivered", actor, org_id, ip=ip, delivery=delivery_id)
        return _delivery(row)


def targets(ctx: AccountsContext) -> list[Target]:
    """Every active subscription (the webhooks process routes events with these, refreshed often)."""
    query = select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
    with ctx.sessions() as s:
        return [
            Target(r.id, r.org_id, frozenset(r.events.split(",")), r.created_at) for r in s.scalars(query)
        ]


def enqueue(ctx: AccountsContext, pairs: Sequence[tuple[Target, policy.Event]]) -> int:
    """Delivery rows for these (subscription, event) pairs, skipping those that exist (a replay)."""
    if not pairs:
        return 0
    now = ctx.clock()
    made = 0
    with ctx.sessions.begin() as s:
        ids = {t.id for t, _ in pairs}
        existing = set(
            s.execute(
                select(WebhookDelivery.subscription_id, WebhookDelivery.event_id).where(
                    WebhookDelivery.subscription_id.in_(ids),
                    WebhookDelivery.event_id.in_({e.event_id for _, e in pairs}),
                )
            ).tuples()
        )
        for target, event in pairs:
            if (target.id, event.event_id) in existing:
                continue
            existing.add((target.id, event.event_id))
            try:
                with s.begin_nested():
                    s.add(
                        WebhookDelivery(
                            subscription_id=target.id,
                            org_id=target.org_id,
                            event_type=event.type,
                            event_id=event.event_id,
                            subject=policy.subject_key(event.type, event.event_id),
                            payload=event.payload(),
                            status="pending",
                            attempts=0,
                            next_attempt_at=now,
                            created_at=now,
                        )
                    )
                made += 1
            except IntegrityError:  # another webhooks process made it meanwhile
                continue
    return made


def due(ctx: AccountsContext, now: datetime, limit: int = 100) -> list[Due]:
    """Pending deliveries whose time has come, of active unpaused subscriptions, oldest first; a
    delivery waits while an earlier version of its check to its subscription is pending
    (`policy.in_order`). Only the due rows' subjects are read for that (indexed), so a long receiver
    outage with thousands pending costs each round no more than its own batch."""
    query = (
        select(WebhookDelivery, WebhookSubscription)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookSubscription.active.is_(True),
            WebhookSubscription.paused_at.is_(None),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    with ctx.sessions() as s:
        rows = list(s.execute(query).tuples())
        if not rows:
            return []
        older = s.execute(
            select(
                WebhookDelivery.id,
                WebhookDelivery.subscription_id,
                WebhookDelivery.event_type,
                WebhookDelivery.event_id,
            ).where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.subscription_id.in_({d.subscription_id for d, _ in rows}),
                WebhookDelivery.subject.in_({d.subject for d, _ in rows}),
            )
        ).tuples()
        sendable = policy.in_order(
            (policy.Queued(d.id, d.subscription_id, d.event_type, d.event_id) for d, _ in rows),
            (policy.Queued(*row) for row in older),
        )
        return [
            Due(
                d.id,
                sub.kind,
                sub.target,
                ctx.keys.sm4.decrypt_text(sub.secret, _context(sub.id)),
                d.event_type,
                d.event_id,
                d.payload,
                d.attempts,
            )
            for d, sub in rows
            if d.id in sendable
        ]


def record(
    ctx: AccountsContext,
    delivery_id: int,
    ok: bool,
    status_code: int | None,
    response: str | None,
    error: str | None,
    retries: policy.Retries = policy.Retries(),
) -> str:
    """Log an attempt; schedule the retry, give up, or pause the subscription, as the policy says.
    Returns the delivery's new status."""
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        row = s.get_one(WebhookDelivery, delivery_id)
        sub = s.get_one(WebhookSubscription, row.subscription_id)
        row.attempts += 1
        row.last_status_code, row.last_error, row.last_attempt_at = status_code, error, now
        row.last_response = None if response is None else response[: policy.RESPONSE_KEEP_CHARS]
        if ok:
            row.status, row.delivered_at = "delivered", now
            sub.consecutive_failures = 0
            return row.status
        sub.consecutive_failures += 1
        if retries.pauses(sub.consecutive_failures) and sub.paused_at is None:
            sub.paused_at = now
            audit.record(s, now, "webhook.paused", "webhooks", sub.org_id, subscription=sub.id)
        if retries.gives_up(row.attempts):
            row.status = "failed"
        else:
            row.next_attempt_at = now + retries.delay(row.attempts)
        return row.status
