"""Webhook signatures, retry policy and events (pure)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from fapiao.webhooks import policy, signing
from fapiao.webhooks.sender import notice_mail
from schemas.events import RiskAlert

T = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_the_signature_covers_timestamp_and_body_and_expires() -> None:
    body = '{"id":"x","data":{"金额":"100.00"}}'.encode()
    header = signing.header_value("whsec_s3cret", 1_765_000_000, body)
    assert header.startswith("t=1765000000,v1=") and len(header.split("v1=")[1]) == 64  # SM3: 256 bits
    assert signing.verify("whsec_s3cret", header, body, 1_765_000_100)
    assert not signing.verify("whsec_s3cret", header, body + b"x", 1_765_000_100)
    assert not signing.verify("whsec_other", header, body, 1_765_000_100)
    assert not signing.verify("whsec_s3cret", header, body, 1_765_000_000 + 301)  # replayed too late
    moved = header.replace("t=1765000000", "t=1765000100")
    assert not signing.verify("whsec_s3cret", moved, body, 1_765_000_100)  # the time is inside the MAC
    assert not signing.verify("whsec_s3cret", "garbage", body, 1_765_000_100)
    # the documented vector (docs/webhooks.md): Java and Python snippets must print this
    assert signing.signature("whsec_test", 1700000000, b'{"id":"1"}') == (
        "fe6cea1b53df8f2cf30a971adf6874c12df9385cc16059d78faa9be3bb5b3567"
    )


def test_backoff_doubles_to_an_hour_then_gives_up_and_pauses() -> None:
    retries = policy.Retries(first_seconds=5, max_attempts=12, pause_after=10)
    assert [retries.delay(n).total_seconds() for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert retries.delay(20) == timedelta(hours=1)
    assert not retries.gives_up(11) and retries.gives_up(12)
    assert not retries.pauses(9) and retries.pauses(10)
    assert policy.succeeded(204) and not policy.succeeded(301) and not policy.succeeded(500)
    assert not policy.succeeded(None)


def test_alerts_carry_no_sealed_fields_and_subscriptions_skip_history() -> None:
    alert = RiskAlert(
        alert_id=uuid.uuid4(),
        check_id=uuid.uuid4(),
        org_id="acme",
        invoice_key="k",
        seller_tax_id="91110108MA01PQRS2K",
        raised_at=T,
        score=88,
        severity="high",
        reasons=("duplicate_reimbursement",),
    )
    event = policy.alert_event(alert)
    body = json.loads(event.payload())
    assert body["type"] == "alert" and body["id"] == str(alert.alert_id)
    assert "seller_sealed" not in body["data"] and body["data"]["seller_tax_id"] == "91110108MA01PQRS2K"
    assert policy.wants(frozenset({"alert"}), T - timedelta(seconds=1), event)
    assert not policy.wants(frozenset({"alert"}), T + timedelta(seconds=1), event)  # made after it
    assert not policy.wants(frozenset({"result"}), T, event)
    mail = notice_mail("a@example.com", "alert", event.payload())
    assert "风险预警" in mail.subject and "duplicate_reimbursement" in mail.body


def test_a_checks_versions_go_in_order_and_other_subjects_are_not_held() -> None:
    def q(id_: int, sub: str, kind: str, event_id: str) -> policy.Queued:
        return policy.Queued(id_, sub, kind, event_id)

    result, follow_up = q(1, "wh_a", "result", "c1:1"), q(2, "wh_a", "follow_up", "c1:2")
    other_check, alert = q(3, "wh_a", "result", "c2:1"), q(4, "wh_a", "alert", "c1")
    other_sub = q(5, "wh_b", "follow_up", "c1:2")
    due = [result, follow_up, other_check, alert, other_sub]
    # the result first; its follow-up waits; another check, an alert, another subscription go
    assert policy.in_order(due, due) == {1, 3, 4, 5}
    # the result is pending a retry (not due yet): its follow-up still waits for it
    assert policy.in_order([follow_up], [result, follow_up]) == set()
    # the result delivered or given up (no longer pending): the follow-up goes
    assert policy.in_order([follow_up], [follow_up]) == {2}
    # the follow-up's row made first (both versions in one batch): the version decides, not the id
    early = q(7, "wh_a", "follow_up", "c9:2")
    late = q(8, "wh_a", "result", "c9:1")
    assert policy.in_order([early, late], [early, late]) == {8}
    assert policy.subject("follow_up", "c1:12") == ("check", "c1")
    assert policy.subject("alert", "a:b") == ("alert", "a:b")
