"""When to try a delivery again, when to give up, when to pause a subscription, in what order a
subscription's deliveries go, and which events of which topic a subscription gets (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from schemas.events import CheckResult, RiskAlert

EventType = Literal["result", "follow_up", "alert"]
EVENT_TYPES: tuple[EventType, ...] = ("result", "follow_up", "alert")
MAX_RETRY_SECONDS = 3600.0
RESPONSE_KEEP_CHARS = 500


@dataclass(frozen=True)
class Retries:
    """From the settings (FAPIAO_WEBHOOK_*): first retry after 5 s, doubling to at most an hour; a
    delivery is `failed` after 12 attempts (it stays in the log: redeliver on demand); a subscription
    is paused after 10 failed attempts in a row."""

    first_seconds: float = 5.0
    max_attempts: int = 12
    pause_after: int = 10

    def delay(self, attempts: int) -> timedelta:
        """After `attempts` failed attempts: first, 2 × first, 4 × first, … at most an hour."""
        return timedelta(seconds=min(MAX_RETRY_SECONDS, self.first_seconds * 2 ** max(0, attempts - 1)))

    def gives_up(self, attempts: int) -> bool:
        return attempts >= self.max_attempts

    def pauses(self, consecutive_failures: int) -> bool:
        return consecutive_failures >= self.pause_after


def succeeded(status_code: int | None) -> bool:
    """Any 2xx is delivered; everything else (3xx included: we do not follow redirects) is retried."""
    return status_code is not None and 200 <= status_code < 300


def subject(event_type: str, event_id: str) -> tuple[str, str]:
    """What a delivery is about: the versions of one check (`<check_id>:<version>`) share their check,
    an alert is its own subject."""
    if event_type in ("result", "follow_up"):
        return ("check", event_id.rsplit(":", 1)[0])
    return (event_type, event_id)


def subject_key(event_type: str, event_id: str) -> str:
    """The subject as one indexed column (`check:<check_id>`, `alert:<id>`), so the ordering rule reads
    only the pending deliveries of the subjects that are due, not every pending one of a subscription."""
    return ":".join(subject(event_type, event_id))


@dataclass(frozen=True)
class Queued:
    """A pending delivery as the ordering rule sees it."""

    id: int
    subscription_id: str
    event_type: str
    event_id: str


def _rank(q: Queued) -> int:
    """A check's version (its deliveries may be made out of order: two versions can reach the webhooks
    process in one batch, or on two partitions); else the delivery's id."""
    if q.event_type in ("result", "follow_up"):
        return int(q.event_id.rsplit(":", 1)[1])
    return q.id


def in_order(due: Iterable[Queued], pending: Iterable[Queued]) -> set[int]:
    """Ids of the due deliveries that may be sent now: none while an earlier version of the same check
    to the same subscription is still pending, so an endpoint never gets a check's follow-up before its
    result (a retried result holds its follow-ups back; one given up on releases them). Subjects
    differ: no head-of-line blocking across checks or alerts."""
    first: dict[tuple[str, tuple[str, str]], int] = {}
    for q in pending:
        key = (q.subscription_id, subject(q.event_type, q.event_id))
        first[key] = min(first.get(key, _rank(q)), _rank(q))
    return {
        d.id
        for d in due
        if first.get((d.subscription_id, subject(d.event_type, d.event_id)), _rank(d)) >= _rank(d)
    }


@dataclass(frozen=True)
class Event:
    """One thing to deliver: its type, the organisation it belongs to, a stable id (the receiver's
    dedupe key: a redelivery carries the same id), when it happened, and the JSON body."""

    type: EventType
    org_id: str
    event_id: str
    at: datetime
    body: dict[str, Any]

    def payload(self) -> str:
        return json.dumps(
            {"id": self.event_id, "type": self.type, "created_at": self.at.isoformat(), "data": self.body},
            ensure_ascii=False,
            separators=(",", ":"),
        )


def result_event(result: CheckResult) -> Event:
    """A result (the first answer of a check) or a follow-up (a later version: the sync delay resolved,
    the invoice voided or red-flushed after the check)."""
    kind: EventType = "follow_up" if result.follow_up or result.result_version > 1 else "result"
    return Event(
        kind,
        result.org_id,
        f"{result.check_id}:{result.result_version}",
        result.decided_at,
        json.loads(result.model_dump_json()),
    )


def alert_event(alert: RiskAlert) -> Event:
    body = json.loads(alert.model_dump_json(exclude={"seller_ref", "seller_sealed"}))
    return Event("alert", alert.org_id, str(alert.alert_id), alert.raised_at, body)


def wants(events: frozenset[str], created_at: datetime, event: Event) -> bool:
    """A subscription gets the events of its types that happened after it was made (so a new one does not
    receive the topic's history)."""
    return event.type in events and event.at >= created_at
