"""Small builders of valid events for tests (not fixtures: plain functions)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from schemas.events import (
    CheckRequested,
    InvoiceIssued,
    InvoiceLine,
    InvoiceStatus,
    InvoiceStatusChanged,
    Party,
    RiskAlert,
)

SELLER = Party(name="北京海淀示例科技有限公司", tax_id="9111010829141777X4")
BUYER = Party(name="北京朝阳示例贸易有限公司", tax_id="911101056317066918")


def issued(
    *,
    fplx: str = "10",
    code: str = "011002300111",
    number: str = "12345678",
    issue_date: date = date(2026, 11, 20),
    amount: str = "100.00",
    tax: str = "13.00",
    check_code: str = "12345678901234567890",
) -> InvoiceIssued:
    total = Decimal(amount) + Decimal(tax)
    return InvoiceIssued(
        event_id=uuid.uuid4(),
        fplx=fplx,
        invoice_code=code,
        invoice_number=number,
        issue_date=issue_date,
        issued_at=datetime(issue_date.year, issue_date.month, issue_date.day, 2, 0, tzinfo=UTC),
        seller=SELLER,
        buyer=BUYER,
        lines=(
            InvoiceLine(
                item="*信息技术服务*软件开发",
                amount=Decimal(amount),
                tax_rate=Decimal("0.13"),
                tax=Decimal(tax),
            ),
        ),
        amount=Decimal(amount),
        tax=Decimal(tax),
        total=total,
        check_code=check_code if code else "",
    )


def check_of(
    invoice: InvoiceIssued,
    *,
    requested_at: datetime = datetime(2026, 11, 25, 3, 0, tzinfo=UTC),
    requester: str = "911101056317066918",
    **overrides: object,
) -> CheckRequested:
    """A check request that matches `invoice`, with any field overridden."""
    from fapiao.domain.invoice_types import FourthField, invoice_type

    fourth = invoice_type(invoice.fplx).fourth_field
    fields: dict[str, object] = {
        "check_id": uuid.uuid4(),
        "requested_at": requested_at,
        "requester": requester,
        "invoice_code": invoice.invoice_code,
        "invoice_number": invoice.invoice_number,
        "issue_date": invoice.issue_date,
    }
    if fourth is FourthField.CHECK_CODE_LAST6:
        fields["check_code"] = invoice.check_code[-6:]
    elif fourth in (FourthField.TOTAL_WITH_TAX, FourthField.USED_CAR_TOTAL):
        fields["amount"] = invoice.total
    else:
        fields["amount"] = invoice.amount
    fields.update(overrides)
    return CheckRequested.model_validate(fields)


def status_change(
    invoice: InvoiceIssued, status: InvoiceStatus, at: datetime | None = None
) -> InvoiceStatusChanged:
    return InvoiceStatusChanged(
        event_id=uuid.uuid4(),
        invoice_code=invoice.invoice_code,
        invoice_number=invoice.invoice_number,
        status=status,
        changed_at=at or datetime(2026, 11, 21, 1, 0, tzinfo=UTC),
    )


def api_check_body(invoice: InvoiceIssued, **extra: str) -> dict[str, str]:
    """The `POST /v1/checks` body of a genuine check of `invoice` (fourth field: the 校验码's last 6)."""
    return {
        "invoice_code": invoice.invoice_code,
        "invoice_number": invoice.invoice_number,
        "issue_date": invoice.issue_date.isoformat(),
        "check_code": invoice.check_code[-6:],
        **extra,
    }


def risk_alert() -> RiskAlert:
    """A valid alert with a fresh alert_id and check_id."""
    return RiskAlert(
        alert_id=uuid.uuid4(),
        check_id=uuid.uuid4(),
        invoice_key="011002300111:12345678",
        raised_at=datetime(2026, 11, 25, 3, 0, tzinfo=UTC),
        score=80,
        severity="high",
        reasons=("amount_outlier",),
        rule_version=5,
    )
