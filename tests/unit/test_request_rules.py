"""What a check request must contain (DOMAIN.md §1, §2, §4)."""

import random
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fapiao.domain.invoice_codes import make_invoice_code
from fapiao.domain.invoice_types import INVOICE_TYPES, FourthField
from fapiao.domain.request_rules import (
    FieldProblem,
    expected_fourth_field,
    is_older_than_five_years,
    request_problems,
)

TODAY = date(2025, 11, 28)
ISSUED = date(2025, 3, 1)
DIGITAL_NUMBER = "24322000000012345678"
CHECK6 = "123456"
AMOUNT = Decimal("300.00")

FOURTH_BY_TYPE = {
    "01": FourthField.AMOUNT_EX_TAX,
    "02": FourthField.TOTAL_AMOUNT,
    "03": FourthField.VEHICLE_PRICE_EX_TAX,
    "04": FourthField.CHECK_CODE_LAST6,
    "08": FourthField.AMOUNT_EX_TAX,
    "10": FourthField.CHECK_CODE_LAST6,
    "11": FourthField.CHECK_CODE_LAST6,
    "14": FourthField.CHECK_CODE_LAST6,
    "15": FourthField.USED_CAR_TOTAL,
}
CODES = {fplx: make_invoice_code(fplx, "1100", 2024, random.Random(1)) for fplx in FOURTH_BY_TYPE}


def codes(problems: tuple[FieldProblem, ...]) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in problems]


def test_every_coded_type_is_covered() -> None:
    assert set(FOURTH_BY_TYPE) == {t.fplx for t in INVOICE_TYPES.values() if not t.digital}


@pytest.mark.parametrize(("fplx", "fourth"), FOURTH_BY_TYPE.items())
def test_expected_fourth_field_per_type(fplx: str, fourth: FourthField) -> None:
    assert expected_fourth_field(CODES[fplx], "12345678") is fourth


@pytest.mark.parametrize(
    ("code", "number", "fourth"),
    [
        ("", DIGITAL_NUMBER, FourthField.TOTAL_WITH_TAX),
        (" ", f" {DIGITAL_NUMBER} ", FourthField.TOTAL_WITH_TAX),
        ("", "12345678", None),
        ("", "", None),
        ("144031917631", "12345678", None),  # unknown type
        ("0440319001x1", "12345678", None),
        ("144031539110", "12345678", FourthField.CHECK_CODE_LAST6),  # legacy e-invoice code
        ("3200153330", "12345678", FourthField.CHECK_CODE_LAST6),  # 10-digit 普票
    ],
)
def test_expected_fourth_field(code: str, number: str, fourth: FourthField | None) -> None:
    assert expected_fourth_field(code, number) is fourth


@pytest.mark.parametrize(("fplx", "fourth"), FOURTH_BY_TYPE.items())
def test_a_complete_request_has_no_problems(fplx: str, fourth: FourthField) -> None:
    amount, check = (AMOUNT, None) if fourth.is_amount else (None, CHECK6)
    assert request_problems(CODES[fplx], "12345678", ISSUED, amount, check, TODAY) == ()


def test_a_complete_digital_request_has_no_problems() -> None:
    assert request_problems("", DIGITAL_NUMBER, ISSUED, AMOUNT, None, TODAY) == ()


@pytest.mark.parametrize(("fplx", "fourth"), FOURTH_BY_TYPE.items())
def test_wrong_fourth_field_names_the_expected_one(fplx: str, fourth: FourthField) -> None:
    amount, check = (None, CHECK6) if fourth.is_amount else (AMOUNT, None)
    (problem,) = request_problems(CODES[fplx], "12345678", ISSUED, amount, check, TODAY)
    assert problem.code == "wrong_fourth_field"
    assert problem.field == ("amount" if fourth.is_amount else "check_code")
    assert fourth.label_zh in problem.message_zh
    assert fourth.label_en in problem.message_en


@pytest.mark.parametrize(("fplx", "fourth"), FOURTH_BY_TYPE.items())
def test_missing_fourth_field(fplx: str, fourth: FourthField) -> None:
    (problem,) = request_problems(CODES[fplx], "12345678", ISSUED, None, None, TODAY)
    assert problem.code == "missing_fourth_field"
    assert problem.message_zh == f"该类发票须提供{fourth.label_zh}"


def test_type_10_with_an_amount_asks_for_the_check_code() -> None:
    (problem,) = request_problems(CODES["10"], "12345678", ISSUED, AMOUNT, None, TODAY)
    assert problem == FieldProblem(
        "check_code",
        "wrong_fourth_field",
        "该类发票须提供校验码后6位",
        "this invoice type requires the last 6 digits of the check code",
    )


def test_digital_request_with_a_check_code_asks_for_the_total() -> None:
    (problem,) = request_problems("", DIGITAL_NUMBER, ISSUED, None, CHECK6, TODAY)
    assert (problem.field, problem.code) == ("amount", "wrong_fourth_field")
    assert problem.message_zh == "该类发票须提供价税合计"
    assert problem.message_en == "this invoice type requires the total including tax"


def test_extra_fourth_field_is_not_a_problem() -> None:
    assert request_problems(CODES["10"], "12345678", ISSUED, AMOUNT, CHECK6, TODAY) == ()
    assert request_problems(CODES["01"], "12345678", ISSUED, AMOUNT, CHECK6, TODAY) == ()


@pytest.mark.parametrize(
    ("code", "number", "expected"),
    [
        ("", "12345678", [("invoice_code", "code_required")]),
        ("", "1234567890", [("invoice_number", "digital_number_format")]),
        ("", "2432200000001234567X", [("invoice_number", "digital_number_format")]),
        ("", "30322000000012345678", [("invoice_number", "number_year_future")]),
        ("", "24992000000012345678", [("invoice_number", "number_unknown_province")]),
        (CODES["10"], DIGITAL_NUMBER, [("invoice_number", "number_digital_with_code")]),
        (CODES["10"], "1234567", [("invoice_number", "number_format")]),
        (CODES["10"], "00000000", [("invoice_number", "number_format")]),
        ("04403190011", "12345678", [("invoice_code", "code_format")]),
        ("144031917631", "12345678", [("invoice_code", "code_unknown_type")]),
        ("099001900111", "12345678", [("invoice_code", "code_unknown_region")]),
        ("044030000111", "12345678", [("invoice_code", "code_year_invalid")]),
        ("044033100111", "12345678", [("invoice_code", "code_year_future")]),
    ],
)
def test_code_and_number_problems(code: str, number: str, expected: list[tuple[str, str]]) -> None:
    # the fourth field given fits whatever type the code says, so only code/number problems show
    fourth = expected_fourth_field(code, number)
    check = CHECK6 if fourth is FourthField.CHECK_CODE_LAST6 else None
    assert codes(request_problems(code, number, ISSUED, AMOUNT, check, TODAY)) == expected


def test_unknown_region_message_names_the_region() -> None:
    (problem,) = request_problems("099001900111", "12345678", ISSUED, None, CHECK6, TODAY)
    assert "9900" in problem.message_zh and "9900" in problem.message_en


def test_future_issue_date() -> None:
    problems = request_problems(CODES["01"], "12345678", date(2025, 11, 29), AMOUNT, None, TODAY)
    assert codes(problems) == [("issue_date", "issue_date_future")]
    assert request_problems(CODES["01"], "12345678", TODAY, AMOUNT, None, TODAY) == ()


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1969, 12, 31), date(1999, 12, 31)])
def test_an_issue_date_before_2000_is_refused_as_the_event_schema_would(day: date) -> None:
    # the API answers 422 naming issue_date, a batch rejects the row: never an event the schema refuses
    problems = request_problems(CODES["01"], "12345678", day, AMOUNT, None, TODAY)
    assert codes(problems) == [("issue_date", "issue_date_too_early")]
    assert request_problems(CODES["01"], "12345678", date(2000, 1, 1), AMOUNT, None, TODAY) == ()


@pytest.mark.parametrize(
    ("check", "ok"),
    [
        ("123456", True),
        ("12345678901234567890", True),
        (" 123456 ", True),
        ("12345", False),
        ("1234567", False),
        ("12345a", False),
        ("１２３４５６", False),
    ],
)
def test_check_code_format(check: str, ok: bool) -> None:
    problems = request_problems(CODES["10"], "12345678", ISSUED, None, check, TODAY)
    assert codes(problems) == ([] if ok else [("check_code", "check_code_format")])


def test_empty_check_code_counts_as_missing() -> None:
    problems = request_problems(CODES["10"], "12345678", ISSUED, None, "", TODAY)
    assert codes(problems) == [("check_code", "missing_fourth_field")]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.01", []),
        ("1", []),
        ("1.5", []),
        ("1.500", []),  # value has 1 decimal place
        ("99999999999.99", []),
        ("0", ["amount_not_positive"]),
        ("0.00", ["amount_not_positive"]),
        ("-300.00", ["amount_not_positive"]),
        ("1.001", ["amount_precision"]),
        ("-0.001", ["amount_not_positive", "amount_precision"]),
        ("100000000000", ["amount_too_large"]),
        ("1E+40", ["amount_too_large"]),
        ("1.0000000000000000000000000000001", ["amount_precision"]),
        ("NaN", ["amount_format"]),
        ("Infinity", ["amount_format"]),
    ],
)
def test_amount_rules(amount: str, expected: list[str]) -> None:
    problems = request_problems(CODES["01"], "12345678", ISSUED, Decimal(amount), None, TODAY)
    assert [p.code for p in problems] == expected
    assert all(p.field == "amount" for p in problems)


def test_messages_are_bilingual() -> None:
    problems = request_problems("0440330011", "1", date(2030, 1, 1), Decimal("-1.234"), "1", TODAY)
    assert problems
    for p in problems:
        assert p.message_zh and p.message_en and p.message_zh != p.message_en


@pytest.mark.parametrize(
    ("issued", "today", "older"),
    [
        (date(2020, 11, 28), date(2025, 11, 28), False),  # the 5th anniversary is still in time
        (date(2020, 11, 28), date(2025, 11, 29), True),
        (date(2020, 11, 27), date(2025, 11, 28), True),
        (date(2024, 2, 29), date(2029, 2, 28), False),  # anniversary of 29 Feb in a common year: 28 Feb
        (date(2024, 2, 29), date(2029, 3, 1), True),
        (date(2020, 2, 29), date(2025, 2, 28), False),
        (date(2020, 2, 29), date(2025, 3, 1), True),
        (date(2023, 2, 28), date(2028, 2, 28), False),
        (date(2023, 2, 28), date(2028, 2, 29), True),  # 29 Feb of a leap year is past 28 Feb's anniversary
        (date(2023, 3, 1), date(2028, 2, 29), False),
        (date(2019, 2, 28), date(2024, 2, 29), True),
        (date(2025, 12, 1), date(2025, 11, 28), False),  # future
        (date(9998, 1, 1), date(9999, 12, 31), False),
    ],
)
def test_is_older_than_five_years(issued: date, today: date, older: bool) -> None:
    assert is_older_than_five_years(issued, today) is older


@given(st.dates(), st.dates())
def test_five_years_is_monotonic_in_today(issued: date, today: date) -> None:
    if is_older_than_five_years(issued, today) and today < date.max:
        assert is_older_than_five_years(issued, date.fromordinal(today.toordinal() + 1))
    if (today - issued).days <= 5 * 365:
        assert not is_older_than_five_years(issued, today)
    if (today - issued).days > 5 * 366:
        assert is_older_than_five_years(issued, today)


decimals = st.none() | st.decimals(allow_nan=True, allow_infinity=True)


@given(st.text(), st.text(), st.dates(), decimals, st.none() | st.text(), st.dates())
def test_never_raises(
    code: str, number: str, issued: date, amount: Decimal | None, check: str | None, today: date
) -> None:
    problems = request_problems(code, number, issued, amount, check, today)
    assert all(isinstance(p, FieldProblem) for p in problems)
    assert expected_fourth_field(code, number) in (None, *FourthField)
