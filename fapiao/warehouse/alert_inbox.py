"""Reading the alert inbox from `risk_alerts` and writing analysts' decisions to `alert_decisions`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fapiao.analytics.history import parse_utc
from fapiao.cases.inbox import SELECT, Cursor, InboxFilters, inbox_sql, precision_sql
from fapiao.cases.store import DecisionRow
from fapiao.warehouse.engine import Engine
from schemas.events import RiskAlert

DECISIONS_TABLE = "alert_decisions"
DECISION_COLUMNS = (
    "org_id",
    "alert_id",
    "check_id",
    "invoice_key",
    "decision",
    "decided_by",
    "decided_at",
    "version",
    "reasons",
)


@dataclass(frozen=True)
class InboxPage:
    alerts: list[RiskAlert]  # sealed as stored: the caller opens them for the organisation
    next_cursor: Cursor | None


def _utc(value: datetime | str) -> datetime:
    if isinstance(value, str):  # chdb answers in text
        return parse_utc(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def alert_of(row: Sequence[Any]) -> RiskAlert:
    (
        alert_id,
        check_id,
        org_id,
        key,
        seller,
        seller_ref,
        seller_sealed,
        raised_at,
        score,
        severity,
        reasons,
        evidence_keys,
        evidence_values,
        rule_version,
        model_version,
    ) = row
    return RiskAlert(
        alert_id=alert_id,
        check_id=check_id,
        org_id=org_id,
        invoice_key=key,
        seller_tax_id=seller,
        seller_ref=seller_ref,
        seller_sealed=seller_sealed,
        raised_at=_utc(raised_at),
        score=score,
        severity=severity,
        reasons=tuple(reasons),
        evidence=dict(zip(evidence_keys, evidence_values, strict=True)),
        rule_version=rule_version,
        model_version=model_version,
    )


def fetch_inbox(
    engine: Engine, org_id: str, filters: InboxFilters, after: Cursor | None, limit: int
) -> InboxPage:
    sql, params = inbox_sql(org_id, filters, after, limit + 1)
    alerts = [alert_of(r) for r in engine.execute(sql, params)]
    more = len(alerts) > limit
    alerts = alerts[:limit]
    last = alerts[-1] if more and alerts else None
    return InboxPage(alerts, Cursor(last.raised_at, str(last.alert_id)) if last else None)


def fetch_alerts(engine: Engine, org_id: str, alert_ids: Sequence[str]) -> dict[str, RiskAlert]:
    """These alerts of the organisation (others' ids are simply not found)."""
    if not alert_ids:
        return {}
    rows = engine.execute(
        f"SELECT {SELECT} FROM risk_alerts FINAL WHERE org_id = %(org_id)s AND toString(alert_id) IN %(ids)s",
        {"org_id": org_id, "ids": tuple(alert_ids)},
    )
    return {str(a.alert_id): a for a in map(alert_of, rows)}


def insert_decisions(engine: Engine, rows: Sequence[DecisionRow]) -> None:
    engine.insert(
        DECISIONS_TABLE,
        DECISION_COLUMNS,
        [
            (
                r.org_id,
                r.alert_id,
                r.check_id,
                r.invoice_key,
                r.decision,
                r.decided_by,
                _utc(r.decided_at),
                r.version,
                list(r.reasons),
            )
            for r in rows
        ],
    )


@dataclass(frozen=True)
class ReasonPrecision:
    month: date
    reason: str
    confirmed: int
    dismissed: int

    @property
    def precision(self) -> float | None:
        decided = self.confirmed + self.dismissed
        return self.confirmed / decided if decided else None


def precision_by_reason(engine: Engine, org_id: str) -> list[ReasonPrecision]:
    sql, params = precision_sql(org_id)
    return [
        ReasonPrecision(m if isinstance(m, date) else date.fromisoformat(str(m)), r, int(c), int(d))
        for m, r, c, d in engine.execute(sql, params)
    ]
