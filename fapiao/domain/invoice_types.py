"""Invoice types (发票类型, `fplx`) and the fourth field a check of each type must give."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FourthField(StrEnum):
    """Which value, besides code, number and date, identifies an invoice of a given type."""

    AMOUNT_EX_TAX = "amount_ex_tax"  # 不含税金额
    TOTAL_AMOUNT = "total_amount"  # 合计金额 (货运专票)
    VEHICLE_PRICE_EX_TAX = "vehicle_price_ex_tax"  # 不含税价 (机动车)
    CHECK_CODE_LAST6 = "check_code_last6"  # 校验码后6位
    USED_CAR_TOTAL = "used_car_total"  # 车价合计 (二手车)
    TOTAL_WITH_TAX = "total_with_tax"  # 价税合计 (数电)

    @property
    def is_amount(self) -> bool:
        return self is not FourthField.CHECK_CODE_LAST6

    @property
    def label_zh(self) -> str:
        return _FOURTH_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _FOURTH_LABELS[self][1]


_FOURTH_LABELS: dict[FourthField, tuple[str, str]] = {
    FourthField.AMOUNT_EX_TAX: ("不含税金额", "amount excluding tax"),
    FourthField.TOTAL_AMOUNT: ("合计金额", "total amount"),
    FourthField.VEHICLE_PRICE_EX_TAX: ("不含税价", "vehicle price excluding tax"),
    FourthField.CHECK_CODE_LAST6: ("校验码后6位", "last 6 digits of the check code"),
    FourthField.USED_CAR_TOTAL: ("车价合计", "used-car total price"),
    FourthField.TOTAL_WITH_TAX: ("价税合计", "total including tax"),
}


@dataclass(frozen=True)
class InvoiceType:
    fplx: str
    name_zh: str
    name_en: str
    fourth_field: FourthField
    digital: bool = False  # 数电: no 发票代码, 20-digit number
    retired: bool = False


_TYPES = (
    InvoiceType("01", "增值税专用发票", "VAT special invoice", FourthField.AMOUNT_EX_TAX),
    InvoiceType(
        "02",
        "货物运输业增值税专用发票",
        "freight VAT special invoice",
        FourthField.TOTAL_AMOUNT,
        retired=True,
    ),
    InvoiceType("03", "机动车销售统一发票", "motor vehicle sales invoice", FourthField.VEHICLE_PRICE_EX_TAX),
    InvoiceType("04", "增值税普通发票", "VAT ordinary invoice", FourthField.CHECK_CODE_LAST6),
    InvoiceType("08", "增值税电子专用发票", "VAT electronic special invoice", FourthField.AMOUNT_EX_TAX),
    InvoiceType("10", "增值税电子普通发票", "VAT electronic ordinary invoice", FourthField.CHECK_CODE_LAST6),
    InvoiceType("11", "增值税普通发票(卷票)", "VAT ordinary invoice (roll)", FourthField.CHECK_CODE_LAST6),
    InvoiceType("14", "通行费电子普通发票", "toll electronic ordinary invoice", FourthField.CHECK_CODE_LAST6),
    InvoiceType("15", "二手车销售统一发票", "used car sales invoice", FourthField.USED_CAR_TOTAL),
    InvoiceType(
        "31",
        "电子发票(增值税专用发票)",
        "fully digital invoice (special)",
        FourthField.TOTAL_WITH_TAX,
        digital=True,
    ),
    InvoiceType(
        "32",
        "电子发票(普通发票)",
        "fully digital invoice (ordinary)",
        FourthField.TOTAL_WITH_TAX,
        digital=True,
    ),
    InvoiceType(
        "51",
        "电子发票(铁路电子客票)",
        "fully digital railway e-ticket",
        FourthField.TOTAL_WITH_TAX,
        digital=True,
    ),
    InvoiceType(
        "61",
        "电子发票(航空运输电子客票行程单)",
        "fully digital air itinerary",
        FourthField.TOTAL_WITH_TAX,
        digital=True,
    ),
)

INVOICE_TYPES: dict[str, InvoiceType] = {t.fplx: t for t in _TYPES}
# Vendors number 数电 专/普 as 81/82; accept those as aliases of 31/32.
FPLX_ALIASES = {"81": "31", "82": "32"}


def invoice_type(fplx: str) -> InvoiceType:
    """The type for an fplx code (aliases accepted); KeyError for an unknown one."""
    return INVOICE_TYPES[FPLX_ALIASES.get(fplx, fplx)]


def invoice_key(invoice_code: str, invoice_number: str) -> str:
    """The key under which everything about one invoice travels and is stored.

    `<code>-<number>` for coded invoices, the bare 20-digit number for 数电 invoices (which have no
    code); the dash keeps a 12+8-digit key from ever equalling a 20-digit one.
    """
    code = invoice_code.strip()
    number = invoice_number.strip()
    return f"{code}-{number}" if code else number
