"""Canonical text for field values, so values from different sources compare equal when they mean the same.

Money becomes "1234.50", dates "YYYY-MM-DD"; anything that does not parse becomes None.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

_DATE_RES = (
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"),
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
_MONEY_JUNK = re.compile(r"[¥￥,，\s]|元$")


def money(text: str | None) -> str | None:
    """'¥1,234.5' -> '1234.50'; None unless a finite number with at most 2 decimals."""
    if text is None:
        return None
    cleaned = _MONEY_JUNK.sub("", text.strip())
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        return None
    return f"{value:.2f}"


def parse_date(text: str | None) -> date | None:
    """A date from '2026年11月20日', '2026-11-20', '2026/11/20', '20261120' or '2026-11-20 10:00:00'."""
    if not text:
        return None
    for pattern in _DATE_RES:
        match = pattern.match(text.strip())
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                return None
    return None


def iso_date(text: str | None) -> str | None:
    parsed = parse_date(text)
    return parsed.isoformat() if parsed else None


def digits(text: str | None) -> str:
    """Only the digits ('1234 5678' -> '12345678')."""
    return re.sub(r"\D", "", text or "")


MONEY_FIELDS = frozenset({"amount", "tax", "total"})
DIGIT_FIELDS = frozenset({"invoice_code", "invoice_number", "check_code"})


def canonical(field: str, raw: str) -> str | None:
    """A field's value as every source gives it: money, ISO dates, bare digits, names NFKC-normalised."""
    if field in MONEY_FIELDS:
        return money(raw)
    if field == "issue_date":
        return iso_date(raw)
    if field in DIGIT_FIELDS:
        return digits(raw) or None
    value = unicodedata.normalize("NFKC", raw).strip()
    return value or None
