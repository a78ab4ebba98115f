"""The fields one check sends, however they were obtained (typed in a row, read from a document)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from fapiao.domain.invoice_types import FourthField


@dataclass(frozen=True)
class CheckFields:
    invoice_code: str  # '' for 数电
    invoice_number: str
    issue_date: date
    amount: Decimal | None  # the amount the type asks for (不含税金额, 价税合计, 车价合计 …)
    check_code: str | None  # 校验码后6位


def fourth_field_value(
    fourth: FourthField, *, amount: Decimal | None, total: Decimal | None, check_code: str | None
) -> tuple[Decimal | None, str | None]:
    """(amount, check_code) for a type's fourth field from an invoice face's 金额, 价税合计 and 校验码."""
    if fourth is FourthField.CHECK_CODE_LAST6:
        return None, (check_code[-6:] if check_code else None)
    if fourth in (FourthField.TOTAL_WITH_TAX, FourthField.USED_CAR_TOTAL):
        return total, None
    return amount, None
