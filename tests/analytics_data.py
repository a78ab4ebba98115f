"""Builders of check_results rows (through the real result_row) and risk_alerts rows for analytics tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fapiao.crypto.protect import FieldSealer
from fapiao.crypto.sm4 import Sm4Keyring
from fapiao.domain.invoice_types import invoice_key
from fapiao.warehouse import alerts as alerts_table
from fapiao.warehouse import results as results_table
from fapiao.warehouse.engine import Engine
from schemas.events import CheckResult, InvoiceFace, Party, RiskAlert, RiskAssessment, Verdict

FOUND = {"consistent", "voided", "red_flushed_partial", "red_flushed_full", "abnormal"}
SELLER = Party(name="北京海淀示例科技有限公司", tax_id="9111010829141777X4")
OTHER_SELLER = Party(name="上海浦东样例贸易有限公司", tax_id="91310115MA1K4ABC2X")
BUYER = Party(name="北京朝阳示例贸易有限公司", tax_id="911101056317066918")
# rows are stored sealed, as the worker publishes them (fapiao.crypto.protect), under these keys (as
# settings: FAPIAO_SM4_KEYS=KEYS_ENV["FAPIAO_SM4_KEYS"], … for a command that must open them)
KEYS_ENV = {
    "FAPIAO_SM4_KEYS": "t1:" + bytes(range(16)).hex(),
    "FAPIAO_SM4_ACTIVE_KEY": "t1",
    "FAPIAO_HMAC_KEY": b"analytics tests hmac key, 32 b.".hex(),
}
SEALER = FieldSealer(Sm4Keyring({"t1": bytes(range(16))}, "t1"), b"analytics tests hmac key, 32 b.")
_SELLERS = {str(p.tax_id): p for p in (SELLER, OTHER_SELLER)}


def ref(party: Party) -> str:
    """A party's pseudonym under the test key."""
    return SEALER.tax_ref(party.tax_id)


def requester_ref(requester: str) -> str:
    return SEALER.requester_ref(requester)


def result(
    check_id: uuid.UUID,
    verdict: str,
    at: datetime,
    *,
    version: int = 1,
    org_id: str = "acme",
    requester: str = "alice",
    code: str = "011002300111",
    number: str = "12345678",
    fplx: str = "10",
    total: str = "113.00",
    seller: Party = SELLER,
    risk_score: int | None = None,
) -> CheckResult:
    """A result of `verdict`; found verdicts carry an invoice face (seller, buyer, amounts)."""
    face = None
    if verdict in FOUND:
        amount = (Decimal(total) / Decimal("1.13")).quantize(Decimal("0.01"))
        face = InvoiceFace(
            fplx=fplx,
            type_name="增值税电子普通发票",
            invoice_code=code,
            invoice_number=number,
            issue_date=date(2026, 11, 20),
            seller=seller,
            buyer=BUYER,
            amount=amount,
            tax=Decimal(total) - amount,
            total=Decimal(total),
        )
    risk = None
    if risk_score is not None:
        risk = RiskAssessment(
            score=risk_score, severity="high" if risk_score >= 60 else "low", reasons=("r",)
        )
    return CheckResult(
        result_id=uuid.uuid5(check_id, f"result-{version}"),
        check_id=check_id,
        result_version=version,
        requested_at=at,
        decided_at=at,
        org_id=org_id,
        requester=requester,
        invoice_key=invoice_key(code, number),
        fplx=fplx if face else ("" if not code else fplx),
        invoice_code=code,
        invoice_number=number,
        issue_date=date(2026, 11, 20),
        verdict=Verdict(verdict),
        message_zh="",
        message_en="",
        check_count=1,
        invoice=face,
        follow_up=version > 1,
        risk=risk,
    )


def insert_results(
    engine: Engine, results: Sequence[CheckResult], sealer: FieldSealer | None = SEALER
) -> None:
    """Rows of these results, sealed by `sealer` (None: plaintext, as with field encryption off)."""
    rows = [results_table.result_row(sealer.seal_result(r) if sealer else r) for r in results]
    engine.insert(results_table.TABLE, results_table.COLUMNS, rows)


def alert(check: CheckResult, score: int = 80, raised_at: datetime | None = None) -> RiskAlert:
    return RiskAlert(
        alert_id=uuid.uuid5(check.check_id, "alert"),
        check_id=check.check_id,
        org_id=check.org_id,
        invoice_key=check.invoice_key,
        seller_tax_id=check.invoice.seller.tax_id or "" if check.invoice else "",
        raised_at=raised_at or check.decided_at,
        score=score,
        severity="high",
        reasons=("duplicate_reimbursement",),
    )


def insert_alerts(engine: Engine, alerts: Sequence[RiskAlert], sealer: FieldSealer = SEALER) -> None:
    sealed = [sealer.seal_alert(a, _SELLERS.get(a.seller_tax_id)) for a in alerts]
    engine.insert(alerts_table.TABLE, alerts_table.COLUMNS, [alerts_table.alert_row(a) for a in sealed])


def at(day: int, hour: int = 3, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def scalar(engine: Engine, sql: str, params: dict[str, Any] | None = None) -> Any:
    return engine.execute(sql, params)[0][0]
