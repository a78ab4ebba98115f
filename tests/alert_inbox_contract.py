"""The alert inbox and the decisions table on every ClickHouse engine (18.16 server, chdb)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fapiao.cases.inbox import Cursor, InboxFilters
from fapiao.cases.store import DecisionRow
from fapiao.warehouse import alerts, migrations
from fapiao.warehouse.alert_inbox import fetch_alerts, fetch_inbox, insert_decisions, precision_by_reason
from fapiao.warehouse.engine import Engine
from schemas.events import RiskAlert

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _alert(
    i: int, org: str = "acme", severity: str = "high", reasons: tuple[str, ...] = ("duplicate_reimbursement",)
) -> RiskAlert:
    return RiskAlert(
        alert_id=uuid.UUID(int=1000 + i),
        check_id=uuid.UUID(int=5000 + i),
        org_id=org,
        invoice_key=f"011002300111-5000{i:04d}",
        seller_tax_id="" if i % 2 else "91110108MA01PQRS2K",
        seller_ref="ref-seller-b" if i % 2 else "",
        raised_at=T0 + timedelta(minutes=i // 2),  # pairs share a time: the cursor must break the tie
        score=80 + i % 20,
        severity=severity,
        reasons=reasons,
        evidence={"prior_checks": str(i)},
        rule_version=3,
    )


def check_inbox_queries(engine: Engine) -> None:
    migrations.migrate(engine)
    rows = [_alert(i) for i in range(7)]
    rows += [_alert(7, severity="low", reasons=("voided_after_check",)), _alert(8, org="other")]
    engine.insert(alerts.TABLE, alerts.COLUMNS, [alerts.alert_row(a) for a in rows])
    engine.insert(alerts.TABLE, alerts.COLUMNS, [alerts.alert_row(rows[0])])  # redelivered: collapses

    seen: list[str] = []
    cursor: Cursor | None = None
    for _ in range(5):
        page = fetch_inbox(engine, "acme", InboxFilters(), cursor, 3)
        seen += [str(a.alert_id) for a in page.alerts]
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = sorted(
        (a for a in rows if a.org_id == "acme"), key=lambda a: (a.raised_at, a.alert_id.int), reverse=True
    )
    assert seen == [str(a.alert_id) for a in expected]  # every alert once, newest first, no other org's

    low = fetch_inbox(engine, "acme", InboxFilters(severities=("low",)), None, 50).alerts
    assert [a.alert_id for a in low] == [rows[7].alert_id]
    assert low[0].evidence == {"prior_checks": "7"} and low[0].raised_at.tzinfo is not None
    by_reason = fetch_inbox(
        engine, "acme", InboxFilters(reasons=("voided_after_check", "x")), None, 50
    ).alerts
    assert [a.alert_id for a in by_reason] == [rows[7].alert_id]
    sealed_seller = fetch_inbox(engine, "acme", InboxFilters(seller_refs=("ref-seller-b",)), None, 50).alerts
    assert {a.alert_id.int - 1000 for a in sealed_seller} == {1, 3, 5, 7}
    plain_seller = fetch_inbox(
        engine, "acme", InboxFilters(seller_refs=("91110108MA01PQRS2K",)), None, 50
    ).alerts
    assert {a.alert_id.int - 1000 for a in plain_seller} == {0, 2, 4, 6}
    window = InboxFilters(raised_from=T0 + timedelta(minutes=1), raised_to=T0 + timedelta(minutes=3))
    assert {a.alert_id.int - 1000 for a in fetch_inbox(engine, "acme", window, None, 50).alerts} == {
        2,
        3,
        4,
        5,
    }
    only = InboxFilters(alert_ids=(str(rows[1].alert_id), str(rows[8].alert_id)))
    assert [a.alert_id for a in fetch_inbox(engine, "acme", only, None, 50).alerts] == [rows[1].alert_id]
    assert fetch_inbox(engine, "acme", InboxFilters(alert_ids=()), None, 50).alerts == []
    but = InboxFilters(exclude_ids=tuple(str(a.alert_id) for a in rows[:6]))
    assert {a.alert_id.int - 1000 for a in fetch_inbox(engine, "acme", but, None, 50).alerts} == {6, 7}
    found = fetch_alerts(engine, "acme", [str(rows[2].alert_id), str(rows[8].alert_id)])
    assert list(found) == [str(rows[2].alert_id)]


def _decision(
    alert: RiskAlert, what: str, version: int, at: datetime = T0, reasons: tuple[str, ...] = ()
) -> DecisionRow:
    """An analyst's (u1) decision on `alert`, as the cases store writes it to alert_decisions."""
    return DecisionRow(
        alert.org_id,
        str(alert.alert_id),
        str(alert.check_id),
        alert.invoice_key,
        what,
        "u1",
        at,
        version,
        reasons,
    )


def check_decisions(engine: Engine) -> None:
    migrations.migrate(engine)
    a, b = _alert(1), _alert(2, reasons=("duplicate_reimbursement", "seller_burst"))

    def decision(alert: RiskAlert, what: str, version: int) -> DecisionRow:
        return _decision(alert, what, version, at=T0 + timedelta(hours=version), reasons=alert.reasons)

    insert_decisions(engine, [decision(a, "confirmed_fraud", 1), decision(b, "confirmed_error", 1)])
    insert_decisions(engine, [decision(b, "reopened", 2), decision(b, "dismissed", 3)])
    insert_decisions(engine, [decision(b, "dismissed", 3)])  # a retried write collapses
    newest = engine.execute(
        "SELECT toString(alert_id), decision, version FROM alert_decisions FINAL ORDER BY version"
    )
    assert sorted(newest) == sorted(
        [(str(a.alert_id), "confirmed_fraud", 1), (str(b.alert_id), "dismissed", 3)]
    )
    precision = {(p.reason, p.month.isoformat()): p for p in precision_by_reason(engine, "acme")}
    dup = precision[("duplicate_reimbursement", "2026-11-01")]
    assert (dup.confirmed, dup.dismissed, dup.precision) == (1, 1, 0.5)
    assert precision[("seller_burst", "2026-11-01")].precision == 0.0
    assert precision_by_reason(engine, "other") == []
    check_decision_labels(engine)  # on the same database: one migration run for both


def check_decision_labels(engine: Engine) -> None:
    """The decisions joined with the stored features of their checks: the labels of `fapiao model train`."""
    from fapiao.domain import register
    from fapiao.domain.results import build_result
    from fapiao.domain.verification import decide
    from fapiao.risk.decision_labels import read_labels
    from fapiao.risk.features import FEATURE_NAMES
    from fapiao.warehouse import results as results_table
    from schemas.events import RiskAssessment
    from tests.factories import check_of, issued

    migrations.migrate(engine)
    a, b, c, other = _alert(11), _alert(12), _alert(13), _alert(14, org="other")
    rows = []
    for n, alert in enumerate((a, b, c, other)):
        invoice = issued(number=f"5550{n:04d}")
        request = check_of(invoice).model_copy(update={"org_id": alert.org_id, "check_id": alert.check_id})
        now = request.requested_at
        decision = decide(
            request, register.apply_issued(None, invoice), now.date(), now=now, sync_window=timedelta(days=1)
        )
        risk = RiskAssessment(score=80, severity="high", features=tuple([float(n)] * len(FEATURE_NAMES)))
        result = build_result(request, decision, decided_at=now, check_count=1).model_copy(
            update={"risk": risk}
        )
        rows.append(results_table.result_row(result))
    engine.insert(results_table.TABLE, results_table.COLUMNS, rows)

    decision = _decision

    insert_decisions(engine, [decision(a, "confirmed_fraud", 1), decision(b, "dismissed", 1)])
    insert_decisions(engine, [decision(c, "confirmed_error", 1), decision(c, "reopened", 2)])  # withdrawn
    insert_decisions(engine, [decision(other, "confirmed_error", 1)])
    day = check_of(issued()).requested_at.date()
    labelled = read_labels(engine, day, day + timedelta(days=1))
    by_id = dict(zip(labelled.check_ids, labelled.y.tolist(), strict=True))
    assert by_id == {str(a.check_id): 1, str(b.check_id): 0, str(other.check_id): 1}
    assert labelled.X.shape == (3, len(FEATURE_NAMES)) and labelled.positives == {
        str(a.check_id),
        str(other.check_id),
    }
    assert read_labels(engine, day + timedelta(days=1), day + timedelta(days=2)).check_ids == ()
