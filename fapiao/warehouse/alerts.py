"""Rows of the `risk_alerts` table."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from schemas.events import RiskAlert

TABLE = "risk_alerts"
COLUMNS: tuple[str, ...] = (
    "alert_id",
    "check_id",
    "org_id",
    "invoice_key",
    "seller_tax_id",
    "raised_at",
    "raised_date",
    "score",
    "severity",
    "reasons",
    "evidence_keys",
    "evidence_values",
    "rule_version",
    "model_version",
    "seller_ref",
    "seller_sealed",
)


def alert_row(alert: RiskAlert) -> tuple[Any, ...]:
    raised = alert.raised_at.astimezone(UTC)
    keys = sorted(alert.evidence)
    return (
        alert.alert_id,
        alert.check_id,
        alert.org_id,
        alert.invoice_key,
        alert.seller_tax_id,
        raised,
        raised.date(),
        alert.score,
        alert.severity,
        list(alert.reasons),
        keys,
        [alert.evidence[k] for k in keys],
        alert.rule_version,
        alert.model_version,
        alert.seller_ref,
        alert.seller_sealed,
    )
