"""What a value pasted into the web app's one search box asks the check form to show and fill.

The browser asks the server rather than repeating the code, number and QR rules in JavaScript: a
code (or code + number) tells the type and so the fourth field (校验码后6位 / 不含税金额 / 价税合计 /
车价合计), a 20-digit number is 数电 (价税合计), and a QR payload fills every field it carries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from fapiao.domain.check_fields import fourth_field_value
from fapiao.domain.inspect import inspect_value
from fapiao.domain.invoice_types import FourthField, invoice_type
from fapiao.domain.request_rules import expected_fourth_field

_SEPARATORS = re.compile(r"[\s,，、;；/|]+")


@dataclass(frozen=True)
class CheckForm:
    kind: str  # inspect_value's kind, or code_and_number
    valid: bool
    errors: tuple[str, ...]
    fourth_field: FourthField | None  # None: the type can't be told (yet)
    digital: bool  # 数电: no 发票代码 field
    fplx: str | None = None
    type_name_zh: str | None = None
    type_name_en: str | None = None
    values: dict[str, str] = field(default_factory=dict)  # prefill: invoice_code, invoice_number …


def read_pasted(value: str, today: date) -> CheckForm:
    """The form for `value`: a 发票代码, 号码, both (separated by a space or comma), a 20-digit 数电
    number or an invoice QR payload. Never raises."""
    text = value.strip()
    tokens = [t for t in _SEPARATORS.split(text) if t]
    if len(tokens) == 2 and all(t.isdigit() for t in tokens):  # a QR payload has 8 fields
        return _code_and_number(tokens[0], tokens[1], today)
    seen = inspect_value(text, today)
    kind = str(seen["kind"])
    errors = tuple(str(e) for e in seen.get("errors", ()))  # type: ignore[attr-defined]
    valid = bool(seen["valid"])
    if kind == "invoice_code":
        return _typed(kind, valid, errors, text, "", {"invoice_code": text}, today)
    if kind == "invoice_number":
        return CheckForm(kind, valid, errors, None, False, values={"invoice_number": text})
    if kind == "digital_invoice_number":
        return _typed(kind, valid, errors, "", text, {"invoice_number": text}, today)
    if kind == "qr_payload" and "invoice_number" in seen:
        return _qr(seen, valid, errors)
    if kind == "tax_id":
        errors = ("a taxpayer ID (税号), not an invoice: paste the invoice's code and number",)
    return CheckForm(kind, False, errors or ("not an invoice code, number or QR payload",), None, False)


def _code_and_number(code: str, number: str, today: date) -> CheckForm:
    errors = tuple(
        f"{name}: {e}"
        for name, part in (("invoice_code", code), ("invoice_number", number))
        for e in inspect_value(part, today).get("errors", ())  # type: ignore[attr-defined]
    )
    if len(code) not in (10, 12):
        errors += ("invoice_code: must be 10 or 12 digits",)
    if len(number) != 8:
        errors += ("invoice_number: must be 8 digits after a 发票代码",)
    values = {"invoice_code": code, "invoice_number": number}
    return _typed("code_and_number", not errors, errors, code, number, values, today)


def _typed(
    kind: str,
    valid: bool,
    errors: tuple[str, ...],
    code: str,
    number: str,
    values: dict[str, str],
    today: date,
) -> CheckForm:
    fourth = expected_fourth_field(code, number)
    fplx = _fplx(code, today)
    names = _names(fplx)
    return CheckForm(kind, valid, errors, fourth, not code, fplx, *names, values=values)


def _qr(seen: dict[str, object], valid: bool, errors: tuple[str, ...]) -> CheckForm:
    code, number = str(seen["invoice_code"]), str(seen["invoice_number"])
    fplx = str(seen["fplx"])
    fourth = expected_fourth_field(code, number) or _type_fourth(fplx)
    values = {"invoice_code": code, "invoice_number": number, "issue_date": str(seen["issue_date"])}
    if fourth is not None:
        carried = Decimal(str(seen["amount"]))
        amount, check_code = fourth_field_value(
            fourth,
            amount=carried if seen["amount_field"] != FourthField.TOTAL_WITH_TAX.value else None,
            total=carried if seen["amount_field"] == FourthField.TOTAL_WITH_TAX.value else None,
            check_code=str(seen["check_code"]) or None,
        )
        if amount is not None:
            values["amount"] = str(amount)
        if check_code is not None:
            values["check_code"] = check_code
    names = _names(fplx)
    return CheckForm("qr_payload", valid, errors, fourth, not code, fplx, *names, values=values)


def _fplx(code: str, today: date) -> str | None:
    if not code:
        return None  # 数电: the number does not tell 31 from 32
    seen = inspect_value(code, today)
    return str(seen["fplx"]) if seen.get("type_name_zh") else None


def _type_fourth(fplx: str) -> FourthField | None:
    try:
        return invoice_type(fplx).fourth_field
    except KeyError:
        return None


def _names(fplx: str | None) -> tuple[str | None, str | None]:
    if fplx is None:
        return None, None
    try:
        kind = invoice_type(fplx)
    except KeyError:
        return None, None
    return kind.name_zh, kind.name_en
