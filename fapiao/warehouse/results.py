"""Rows of the `check_results` table, and the queries the API runs on it.

Results arrive sealed from the worker (fapiao.crypto.protect): the plaintext party and requester
columns are then empty and `*_ref` / `*_sealed` hold pseudonyms and SM4-GCM envelopes; the API opens
them for the owning organisation (`fapiao.crypto.protect.FieldSealer.open_row`)."""

from __future__ import annotations

from datetime import UTC as _UTC
from decimal import Decimal
from typing import Any
from uuid import UUID

from fapiao.warehouse.engine import Engine
from schemas.events import CheckResult

TABLE = "check_results"
COLUMNS: tuple[str, ...] = (
    "check_id",
    "result_version",
    "result_id",
    "requested_at",
    "requested_date",
    "decided_at",
    "org_id",
    "requester",
    "channel",
    "batch_id",
    "batch_row",
    "invoice_key",
    "fplx",
    "invoice_code",
    "invoice_number",
    "issue_date",
    "verdict",
    "mismatched_fields",
    "check_count",
    "follow_up",
    "invoice_status",
    "seller_tax_id",
    "seller_name",
    "buyer_tax_id",
    "buyer_name",
    "amount",
    "tax",
    "total",
    "message_zh",
    "message_en",
    "region_name",
    "type_name",
    "seller_division",
    "buyer_division",
    "risk_score",
    "risk_severity",
    "risk_reasons",
    "risk_model_score",
    "risk_features",
    "risk_model_version",
    "rule_version",
    "seller_ref",
    "seller_sealed",
    "buyer_ref",
    "buyer_sealed",
    "requester_ref",
    "requester_sealed",
)
_ZERO = Decimal("0.00")


def result_row(result: CheckResult) -> tuple[Any, ...]:
    """The `check_results` row of one result event (pure)."""
    face = result.invoice
    risk = result.risk
    requested_utc = result.requested_at.astimezone(_UTC)
    return (
        result.check_id,
        result.result_version,
        result.result_id,
        requested_utc,
        # The partition/order date is the request's UTC date, so every version of a check shares a key.
        requested_utc.date(),
        result.decided_at.astimezone(_UTC),
        result.org_id,
        result.requester,
        result.channel,
        str(result.batch_id) if result.batch_id else "",
        result.batch_row or 0,
        result.invoice_key,
        result.fplx,
        result.invoice_code,
        result.invoice_number,
        result.issue_date,
        result.verdict.value,
        list(result.mismatched_fields),
        result.check_count,
        int(result.follow_up),
        face.status.value if face else "",
        (face.seller.tax_id or "") if face else "",
        face.seller.name if face else "",
        (face.buyer.tax_id or "") if face else "",
        face.buyer.name if face else "",
        face.amount if face else _ZERO,
        face.tax if face else _ZERO,
        face.total if face else _ZERO,
        result.message_zh,
        result.message_en,
        result.enrichment.get("region", ""),
        result.enrichment.get("type_name", ""),
        result.enrichment.get("seller_division", ""),
        result.enrichment.get("buyer_division", ""),
        risk.score if risk else 0,
        risk.severity if risk else "",
        list(risk.reasons) if risk else [],
        risk.model_score if risk and risk.model_score is not None else -1.0,  # -1: no model scored it
        list(risk.features) if risk else [],
        risk.model_version if risk else "",
        risk.rule_version if risk else 0,
        # sealed results (docs/security.md): pseudonyms and envelopes; the plaintext columns above are ''
        (face.seller.ref or "") if face else "",
        (face.seller.sealed or "") if face else "",
        (face.buyer.ref or "") if face else "",
        (face.buyer.sealed or "") if face else "",
        result.requester_ref,
        result.requester_sealed,
    )


def latest_result(engine: Engine, org_id: str, check_id: UUID) -> dict[str, Any] | None:
    """The newest stored result of an organisation's check, as a column -> value dict, or None."""
    cols = ", ".join(COLUMNS)
    rows = engine.execute(
        f"SELECT {cols} FROM {TABLE} FINAL WHERE org_id = %(org_id)s AND check_id = %(check_id)s "
        "ORDER BY result_version DESC LIMIT 1",
        {"org_id": org_id, "check_id": check_id},
    )
    return dict(zip(COLUMNS, rows[0], strict=True)) if rows else None


def verdict_counts(engine: Engine, org_id: str) -> dict[str, int]:
    """An organisation's checks per current verdict (each check counted once, at its newest result)."""
    rows = engine.execute(
        f"SELECT verdict, count() FROM {TABLE} FINAL WHERE org_id = %(org_id)s "
        "GROUP BY verdict ORDER BY verdict",
        {"org_id": org_id},
    )
    return {str(v): int(n) for v, n in rows}
