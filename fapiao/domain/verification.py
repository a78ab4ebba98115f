"""The verification rules: what the platform answers for one check, as a pure function.

`decide` takes the request, the register entry of its invoice (or None) and the counts, and returns
a `Decision`; the verify agent only looks the entry up, calls this, and publishes the result.
Order matters and follows the platform: a malformed request is refused before anything is looked up,
a request over the daily limit is refused before the register is consulted, and the status of an
invoice (作废, 红冲 …) is only shown to a requester whose fields all match (no probing of strangers'
invoices).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from fapiao.domain import register
from fapiao.domain.invoice_types import FourthField, invoice_type
from fapiao.domain.request_rules import expected_fourth_field, is_older_than_five_years, request_problems
from schemas.events import CheckRequested, InvoiceFace, InvoiceIssued, InvoiceStatus, Verdict

DAILY_CHECK_LIMIT = 5  # per invoice per calendar day (Asia/Shanghai), counted per invoice

MESSAGES: dict[Verdict, tuple[str, str]] = {
    Verdict.CONSISTENT: ("查验结果一致", "the invoice matches the register"),
    Verdict.INCONSISTENT: ("查验结果不一致", "the invoice does not match the register"),
    Verdict.NOT_FOUND: ("查无此票", "no such invoice in the register"),
    Verdict.VOIDED: ("该发票已作废", "the invoice has been voided"),
    Verdict.RED_FLUSHED_PARTIAL: ("该发票已部分红冲", "the invoice has been partially red-flushed"),
    Verdict.RED_FLUSHED_FULL: ("该发票已全额红冲", "the invoice has been fully red-flushed"),
    Verdict.ABNORMAL: ("该发票状态异常", "the invoice is flagged abnormal"),
    Verdict.LIMIT_EXCEEDED: ("超过该张发票当日查验次数", "this invoice's checks for today are used up"),
    Verdict.TOO_OLD: ("超过五年的发票不能查验", "invoices older than five years cannot be checked"),
    Verdict.INVALID: ("查验请求不合法", "the check request is invalid"),
    Verdict.PENDING_SYNC: (
        "发票信息尚未同步, 稍后自动更新",
        "not in the register yet; the result will follow",
    ),
}

_STATUS_VERDICTS = {
    InvoiceStatus.VOIDED: Verdict.VOIDED,
    InvoiceStatus.RED_FLUSHED_PARTIAL: Verdict.RED_FLUSHED_PARTIAL,
    InvoiceStatus.RED_FLUSHED_FULL: Verdict.RED_FLUSHED_FULL,
    InvoiceStatus.ABNORMAL: Verdict.ABNORMAL,
}


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    mismatched_fields: tuple[str, ...] = ()
    invoice: InvoiceFace | None = None
    counted: bool = True  # whether this check counts towards the invoice's daily limit
    detail_zh: str = ""
    detail_en: str = ""

    @property
    def message_zh(self) -> str:
        base = MESSAGES[self.verdict][0]
        return f"{base}: {self.detail_zh}" if self.detail_zh else base

    @property
    def message_en(self) -> str:
        base = MESSAGES[self.verdict][1]
        return f"{base}: {self.detail_en}" if self.detail_en else base


def decide(
    request: CheckRequested,
    entry: register.Entry | None,
    today: date,
    *,
    now: datetime,
    sync_window: timedelta,
    recheck: bool = False,
) -> Decision:
    """The verdict for one check. `today` is the Asia/Shanghai calendar day of the request.

    `recheck` re-verifies a check that was already counted (redelivery, refresh, follow-up): the
    daily limit does not apply to it again. An invoice missing from the register is held as
    pending_sync while the sync delay is plausible (see `awaiting_sync`), else 查无此票.
    """
    problems = request_problems(
        request.invoice_code,
        request.invoice_number,
        request.issue_date,
        request.amount,
        request.check_code,
        today,
    )
    if problems:
        return Decision(
            Verdict.INVALID,
            mismatched_fields=tuple(dict.fromkeys(p.field for p in problems)),
            counted=False,
            detail_zh="; ".join(p.message_zh for p in problems),
            detail_en="; ".join(p.message_en for p in problems),
        )
    if is_older_than_five_years(request.issue_date, today):
        return Decision(Verdict.TOO_OLD, counted=False)
    if not recheck and register.checks_today(entry, today) >= DAILY_CHECK_LIMIT:
        return Decision(Verdict.LIMIT_EXCEEDED, counted=False)
    invoice = register.issued_invoice(entry)
    if invoice is None:
        if awaiting_sync(request, today, now=now, sync_window=sync_window):
            return Decision(Verdict.PENDING_SYNC)
        return Decision(Verdict.NOT_FOUND)
    mismatched = mismatched_fields(request, invoice)
    if mismatched:
        return Decision(Verdict.INCONSISTENT, mismatched_fields=mismatched)
    status = register.status_of(entry)
    face = invoice_face(invoice, status)
    return Decision(_STATUS_VERDICTS.get(status, Verdict.CONSISTENT), invoice=face)


def awaiting_sync(request: CheckRequested, today: date, *, now: datetime, sync_window: timedelta) -> bool:
    """Whether a missing invoice may still arrive: it was issued within the sync window before the
    request, and the window since the request has not run out. An invoice dated weeks ago that is
    not in the register never will be (the register is fed as invoices are issued)."""
    recent_issue = request.issue_date >= today - timedelta(days=max(1, sync_window.days))
    return recent_issue and now - request.requested_at < sync_window


def mismatched_fields(request: CheckRequested, invoice: InvoiceIssued) -> tuple[str, ...]:
    """Names of the request fields that differ from the register (never their true values)."""
    fields: list[str] = []
    if request.issue_date != invoice.issue_date:
        fields.append("issue_date")
    fourth = expected_fourth_field(request.invoice_code, request.invoice_number)
    if fourth is FourthField.CHECK_CODE_LAST6:
        given = request.check_code or ""
        if given[-6:] != invoice.check_code[-6:] or (len(given) == 20 and given != invoice.check_code):
            fields.append("check_code")
    elif fourth is not None and (
        request.amount is None or _cents(request.amount) != _cents(expected_amount(invoice, fourth))
    ):
        fields.append("amount")
    return tuple(fields)


def expected_amount(invoice: InvoiceIssued, fourth: FourthField) -> Decimal:
    """The register's value of the amount a check of this type must give."""
    if fourth in (FourthField.TOTAL_WITH_TAX, FourthField.USED_CAR_TOTAL):
        return invoice.total
    return invoice.amount  # 不含税金额, 不含税价, and 货运专票's 合计金额 (also before tax)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def invoice_face(invoice: InvoiceIssued, status: InvoiceStatus) -> InvoiceFace:
    return InvoiceFace(
        fplx=invoice.fplx,
        type_name=invoice_type(invoice.fplx).name_zh,
        invoice_code=invoice.invoice_code,
        invoice_number=invoice.invoice_number,
        issue_date=invoice.issue_date,
        seller=invoice.seller,
        buyer=invoice.buyer,
        lines=invoice.lines,
        amount=invoice.amount,
        tax=invoice.tax,
        total=invoice.total,
        status=status,
        remarks=invoice.remarks,
    )
