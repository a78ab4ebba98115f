"""What a check request must contain before it is worth sending: the platform's input rules.

Problems carry Chinese and English messages because they go back to whoever typed the request; the
fourth-field messages name the field the type needs, since giving 金额 for a 校验码 type (or the
reverse) is the most common mistake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import MAXYEAR, date
from decimal import Decimal

from fapiao.domain.invoice_codes import UNKNOWN_FPLX, fplx_from_code, parse_invoice_code
from fapiao.domain.invoice_numbers import is_valid_paper_number, parse_digital_number
from fapiao.domain.invoice_types import FourthField, invoice_type
from schemas.events import FIRST_DAY

_CODE_RE = re.compile(r"[0-9]{10}|[0-9]{12}")
_DIGITAL_RE = re.compile(r"[0-9]{20}")
_EIGHT_RE = re.compile(r"[0-9]{8}")
_CHECK_CODE_RE = re.compile(r"[0-9]{6}|[0-9]{20}")
AMOUNT_LIMIT = Decimal("100000000000")  # the platform accepts at most 11 integer digits


@dataclass(frozen=True)
class FieldProblem:
    field: str  # the request field: invoice_code, invoice_number, issue_date, amount or check_code
    code: str  # stable machine-readable reason
    message_zh: str
    message_en: str


def expected_fourth_field(invoice_code: str, invoice_number: str) -> FourthField | None:
    """The fourth field a check of this invoice must give; None when its type can't be told."""
    code = invoice_code.strip()
    if not code:
        return FourthField.TOTAL_WITH_TAX if _DIGITAL_RE.fullmatch(invoice_number.strip()) else None
    if not _CODE_RE.fullmatch(code):
        return None
    fplx = fplx_from_code(code)
    return None if fplx == UNKNOWN_FPLX else invoice_type(fplx).fourth_field


def request_problems(
    invoice_code: str,
    invoice_number: str,
    issue_date: date,
    amount: Decimal | None,
    check_code: str | None,
    today: date,
) -> tuple[FieldProblem, ...]:
    """Everything wrong with a check request, empty when it may be sent; never raises.

    An empty `check_code` counts as not given. Age (超五年) is not a problem of the request's form;
    see `is_older_than_five_years`.
    """
    code = invoice_code.strip()
    number = invoice_number.strip()
    check = (check_code or "").strip() or None
    problems = [*_code_problems(code, today), *_number_problems(code, number, today)]
    if issue_date > today:
        problems.append(_problem("issue_date_future"))
    elif issue_date < FIRST_DAY:  # the event schema refuses it (what the warehouse holds)
        problems.append(_problem("issue_date_too_early"))
    problems.extend(_fourth_field_problems(expected_fourth_field(code, number), amount, check))
    if check is not None and not _CHECK_CODE_RE.fullmatch(check):
        problems.append(_problem("check_code_format"))
    if amount is not None:
        problems.extend(_amount_problems(amount))
    return tuple(problems)


def is_older_than_five_years(issue_date: date, today: date) -> bool:
    """超五年: past the 5th anniversary of the issue date, which the platform refuses to check.

    The anniversary of 29 February in a common year is 28 February (民法典 第二百零一条: with no
    corresponding day the period ends on the month's last day); the anniversary itself is still in time.
    """
    if issue_date.year + 5 > MAXYEAR:
        return False
    try:
        anniversary = issue_date.replace(year=issue_date.year + 5)
    except ValueError:  # 29 February -> 28 February
        anniversary = issue_date.replace(year=issue_date.year + 5, day=28)
    return today > anniversary


# code -> (field, message_zh, message_en); messages are str.format templates.
_MESSAGES: dict[str, tuple[str, str, str]] = {
    "code_format": ("invoice_code", "发票代码须为10位或12位数字", "the invoice code must be 10 or 12 digits"),
    "code_unknown_type": (
        "invoice_code",
        "无法从发票代码识别发票类型",
        "the invoice type cannot be told from the invoice code",
    ),
    "code_unknown_region": (
        "invoice_code",
        "发票代码中的地区{region}不存在",
        "the invoice code's region {region} does not exist",
    ),
    "code_year_invalid": ("invoice_code", "发票代码年份不能为00", "the invoice code's year cannot be 00"),
    "code_year_future": (
        "invoice_code",
        "发票代码年份{year}晚于今年",
        "the invoice code's year {year} is in the future",
    ),
    "code_required": (
        "invoice_code",
        "8位发票号码须同时提供发票代码",
        "an 8-digit invoice number needs its invoice code",
    ),
    "number_format": (
        "invoice_number",
        "发票号码须为8位数字",
        "the invoice number must be 8 digits (not all zero)",
    ),
    "number_digital_with_code": (
        "invoice_number",
        "20位号码的数电发票不填发票代码",
        "a 20-digit (数电) invoice number is checked without an invoice code",
    ),
    "digital_number_format": (
        "invoice_number",
        "数电发票号码须为20位数字",
        "a 数电 invoice number must be 20 digits",
    ),
    "number_year_future": (
        "invoice_number",
        "发票号码年份{year}晚于今年",
        "the invoice number's year {year} is in the future",
    ),
    "number_unknown_province": (
        "invoice_number",
        "发票号码中的省份{province}不存在",
        "the invoice number's province {province} does not exist",
    ),
    "issue_date_future": ("issue_date", "开票日期不能晚于今天", "the issue date is in the future"),
    "issue_date_too_early": (
        "issue_date",
        "开票日期不能早于2000年1月1日",
        "the issue date is before 2000-01-01",
    ),
    # the field is the one the type needs: amount or check_code
    "missing_fourth_field": ("", "该类发票须提供{label_zh}", "this invoice type requires the {label_en}"),
    "wrong_fourth_field": ("", "该类发票须提供{label_zh}", "this invoice type requires the {label_en}"),
    "check_code_format": (
        "check_code",
        "校验码须为后6位数字(或完整的20位)",
        "the check code must be its last 6 digits (or the full 20)",
    ),
    "amount_format": ("amount", "金额须为数字", "the amount must be a number"),
    "amount_not_positive": ("amount", "金额须大于0", "the amount must be greater than 0"),
    "amount_too_large": ("amount", "金额超出上限", "the amount exceeds 11 integer digits"),
    "amount_precision": ("amount", "金额最多两位小数", "the amount may have at most 2 decimal places"),
}


def _problem(code: str, field: str = "", **values: object) -> FieldProblem:
    default_field, zh, en = _MESSAGES[code]
    return FieldProblem(field or default_field, code, zh.format(**values), en.format(**values))


def _code_problems(code: str, today: date) -> list[FieldProblem]:
    if not code:
        return []
    info = parse_invoice_code(code, today)
    if info.region is None or info.year is None:
        return [_problem("code_format")]
    problems = []
    if info.fplx == UNKNOWN_FPLX:
        problems.append(_problem("code_unknown_type"))
    if info.region_name is None:
        problems.append(_problem("code_unknown_region", region=info.region))
    if info.year == 2000:
        problems.append(_problem("code_year_invalid"))
    elif info.year > today.year:
        problems.append(_problem("code_year_future", year=info.year))
    return problems


def _number_problems(code: str, number: str, today: date) -> list[FieldProblem]:
    if code:
        if is_valid_paper_number(number):
            return []
        return [_problem("number_digital_with_code" if _DIGITAL_RE.fullmatch(number) else "number_format")]
    if _EIGHT_RE.fullmatch(number):
        return [_problem("code_required")]
    info = parse_digital_number(number, today)
    if info.year is None or info.province is None:
        return [_problem("digital_number_format")]
    problems = []
    if info.year > today.year:
        problems.append(_problem("number_year_future", year=info.year))
    if info.province_name is None:
        problems.append(_problem("number_unknown_province", province=info.province))
    return problems


def _fourth_field_problems(
    fourth: FourthField | None, amount: Decimal | None, check: str | None
) -> list[FieldProblem]:
    if fourth is None:
        return []
    if fourth.is_amount:
        missing, other_given, field = amount is None, check is not None, "amount"
    else:
        missing, other_given, field = check is None, amount is not None, "check_code"
    if not missing:
        return []
    code = "wrong_fourth_field" if other_given else "missing_fourth_field"
    return [_problem(code, field, label_zh=fourth.label_zh, label_en=fourth.label_en)]


def _amount_problems(amount: Decimal) -> list[FieldProblem]:
    if not amount.is_finite():
        return [_problem("amount_format")]
    problems = []
    if amount <= 0:
        problems.append(_problem("amount_not_positive"))
    elif amount >= AMOUNT_LIMIT:
        problems.append(_problem("amount_too_large"))
    if _decimal_places(amount) > 2:
        problems.append(_problem("amount_precision"))
    return problems


def _decimal_places(value: Decimal) -> int:
    """Significant decimal places (1.500 has 1), exactly, whatever the Decimal context precision."""
    _, digits, exponent = value.as_tuple()
    places = -int(exponent)
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(places - trailing_zeros, 0) if any(digits) else 0
