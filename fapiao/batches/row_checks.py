"""One spreadsheet row -> the check it asks for, or every problem with it (line, field, reason).

Pure. Cell values come as the sheet gave them: text from CSV; numbers, dates and text from XLSX. A
code or number Excel turned into a number lost its leading zeros, which are restored only where the
length leaves no doubt (an 11-digit code is a 12-digit one that started with 0); a 20-digit number
stored as a number lost digits, which cannot be restored, and is reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from fapiao.batches.sheets import Cell, SheetRow
from fapiao.documents.normalize import money, parse_date
from fapiao.domain.check_fields import CheckFields
from fapiao.domain.request_rules import expected_fourth_field, request_problems

_EXACT_FLOAT_DIGITS = 15  # a spreadsheet number keeps 15 significant digits


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    code: str
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class RowOutcome:
    line: int
    fields: CheckFields | None
    problems: tuple[RowProblem, ...] = ()


_MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("必填项为空", "this field is required"),
    "not_digits": ("只能包含数字", "digits only"),
    "digits_lost": (
        "该值被存为数字而丢失了位数, 请将此列设为文本",
        "stored as a number, digits were lost; format this column as text",
    ),
    "date_format": ("日期格式无法识别(如 2026-11-20)", "unrecognised date (use e.g. 2026-11-20)"),
    "amount_format": ("金额须为最多两位小数的数字", "the amount must be a number with at most 2 decimals"),
}


def parse_row(row: SheetRow, today: date) -> RowOutcome:
    problems: list[RowProblem] = []

    def problem(field: str, code: str) -> None:
        zh, en = _MESSAGES[code]
        problems.append(RowProblem(row.line, field, code, zh, en))

    v = row.values
    code = _digits(v.get("invoice_code"), "invoice_code", pad_to=12, problem=problem)
    number = _digits(v.get("invoice_number"), "invoice_number", pad_to=8, problem=problem)
    check_code = _digits(v.get("check_code"), "check_code", pad_to=6, problem=problem) or None
    issued = _date(v.get("issue_date"))
    amount = _amount(v.get("amount"))
    if not number and not any(p.field == "invoice_number" for p in problems):
        problem("invoice_number", "required")
    if issued is None:
        problem("issue_date", "required" if _blank(v.get("issue_date")) else "date_format")
    if amount is None and not _blank(v.get("amount")):
        problem("amount", "amount_format")
    if problems or issued is None:
        return RowOutcome(row.line, None, tuple(problems))
    fourth = expected_fourth_field(code, number)
    if fourth is not None and amount is not None and check_code is not None:
        amount, check_code = (amount, None) if fourth.is_amount else (None, check_code)
    found = request_problems(code, number, issued, amount, check_code, today)
    if found:
        return RowOutcome(
            row.line,
            None,
            tuple(RowProblem(row.line, p.field, p.code, p.message_zh, p.message_en) for p in found),
        )
    return RowOutcome(row.line, CheckFields(code, number, issued, amount, check_code))


def _blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _digits(cell: Cell, field: str, *, pad_to: int, problem: Callable[[str, str], None]) -> str:
    if _blank(cell):
        return ""
    if isinstance(cell, float) and not cell.is_integer():
        problem(field, "not_digits")
        return ""
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        text = str(int(cell))
        if len(text) > _EXACT_FLOAT_DIGITS:
            problem(field, "digits_lost")
            return ""
        # Excel dropped the leading zeros: only restore them where the length leaves no doubt
        return (
            text.zfill(pad_to) if len(text) == pad_to - 1 or (pad_to != 12 and len(text) < pad_to) else text
        )
    text = re.sub(r"\s+", "", str(cell)).lstrip("'")
    if not text.isdigit() or not text.isascii():
        problem(field, "not_digits")
        return ""
    return text


def _date(cell: Cell) -> date | None:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return parse_date(str(int(cell)))
    return parse_date(str(cell)) if cell is not None else None


def _amount(cell: Cell) -> Decimal | None:
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        text = money(repr(float(cell)) if isinstance(cell, float) else str(cell))
    else:
        text = money(str(cell)) if not _blank(cell) else None
    return Decimal(text) if text else None
