"""The QR code string printed on e-invoices (and embedded as `GraphCode` in OFD files).

`01,<fplx>,<代码>,<号码>,<金额>,<开票日期>,<校验码>,<4 hex>[,]`. Its 金额 is 不含税金额 on old-style
invoices but 价税合计 on 数电 ones, so a payload says which it carries: a check built from it must send
the amount its type asks for, not blindly this one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from fapiao.domain.invoice_codes import UNKNOWN_FPLX, fplx_from_code
from fapiao.domain.invoice_types import FourthField, invoice_type

VERSION = "01"
_FIELDS = (
    "version",
    "fplx",
    "invoice_code",
    "invoice_number",
    "amount",
    "issue_date",
    "check_code",
    "digest",
)
_CODE_RE = re.compile(r"[0-9]{10}|[0-9]{12}")
_AMOUNT_RE = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,2})?")  # negative on red-letter (红字) invoices
_DATE_RE = re.compile(r"[0-9]{8}")
_CHECK_CODE_RE = re.compile(r"[0-9]{20}")
_DIGEST_RE = re.compile(r"[0-9A-Fa-f]{4}")


class QrPayloadError(ValueError):
    """The text is not an invoice QR payload; the message names the offending field."""


@dataclass(frozen=True)
class QrPayload:
    fplx: str
    invoice_code: str
    invoice_number: str
    amount: Decimal
    # what the amount means: AMOUNT_EX_TAX for old e-invoices, TOTAL_WITH_TAX for 数电
    amount_field: FourthField
    issue_date: date
    check_code: str
    digest: str


def parse_qr_payload(text: str) -> QrPayload:
    """Parse and cross-check a QR string; QrPayloadError naming the bad field otherwise."""
    parts = text.strip().split(",")
    if len(parts) == len(_FIELDS) + 1 and parts[-1] == "":
        parts.pop()  # old-style payloads end with a comma
    if len(parts) != len(_FIELDS):
        raise QrPayloadError(f"expected {len(_FIELDS)} comma-separated fields, got {len(parts)}")
    version, fplx, code, number, amount, issued, check_code, digest = parts
    if version != VERSION:
        raise QrPayloadError(f"version: expected {VERSION!r}, got {version!r}")
    try:
        kind = invoice_type(fplx)
    except KeyError:
        raise QrPayloadError(f"fplx: unknown invoice type {fplx!r}") from None
    if kind.digital:
        if code:
            raise QrPayloadError(f"invoice_code: must be empty for 数电 type {fplx}, got {code!r}")
        if not re.fullmatch(r"[0-9]{20}", number):
            raise QrPayloadError(f"invoice_number: 数电 numbers are 20 digits, got {number!r}")
    else:
        if not _CODE_RE.fullmatch(code):
            raise QrPayloadError(f"invoice_code: must be 10 or 12 digits for type {fplx}, got {code!r}")
        code_fplx = fplx_from_code(code)
        if code_fplx not in (UNKNOWN_FPLX, fplx):
            raise QrPayloadError(f"fplx: {fplx} contradicts invoice code {code}, which is type {code_fplx}")
        if not re.fullmatch(r"[0-9]{8}", number):
            raise QrPayloadError(f"invoice_number: must be 8 digits for type {fplx}, got {number!r}")
    if not _AMOUNT_RE.fullmatch(amount):
        raise QrPayloadError(f"amount: expected a decimal with at most 2 places, got {amount!r}")
    issue_date = _parse_date(issued)
    if check_code and not _CHECK_CODE_RE.fullmatch(check_code):
        raise QrPayloadError(f"check_code: must be empty or 20 digits, got {check_code!r}")
    if not check_code and kind.fourth_field is FourthField.CHECK_CODE_LAST6:
        raise QrPayloadError(f"check_code: type {fplx} is checked by its check code, but it is missing")
    if not _DIGEST_RE.fullmatch(digest):
        raise QrPayloadError(f"digest: expected 4 hex digits, got {digest!r}")
    amount_field = FourthField.TOTAL_WITH_TAX if kind.digital else FourthField.AMOUNT_EX_TAX
    return QrPayload(fplx, code, number, Decimal(amount), amount_field, issue_date, check_code, digest)


def format_qr_payload(p: QrPayload) -> str:
    """The QR string; old-style payloads keep their trailing comma, 数电 ones have none."""
    issued = f"{p.issue_date.year:04d}{p.issue_date.month:02d}{p.issue_date.day:02d}"
    fields = (VERSION, p.fplx, p.invoice_code, p.invoice_number, format(p.amount, "f"), issued)
    text = ",".join((*fields, p.check_code, p.digest))
    return text if invoice_type(p.fplx).digital else text + ","


def _parse_date(text: str) -> date:
    if _DATE_RE.fullmatch(text):
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            pass
    raise QrPayloadError(f"issue_date: expected a date as YYYYMMDD, got {text!r}")
