"""What the web app's search box gets back for a pasted value: the fields the type needs, prefilled."""

from datetime import date

import pytest

from fapiao.domain.check_form import read_pasted
from fapiao.domain.invoice_types import FourthField

TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(
    ("value", "kind", "fourth", "digital"),
    [
        ("011002300111 12345678", "code_and_number", FourthField.CHECK_CODE_LAST6, False),
        ("011002300111，12345678", "code_and_number", FourthField.CHECK_CODE_LAST6, False),
        ("011002300111,12345678", "code_and_number", FourthField.CHECK_CODE_LAST6, False),
        ("3200153130", "invoice_code", FourthField.AMOUNT_EX_TAX, False),
        ("26112000000004231957", "digital_invoice_number", FourthField.TOTAL_WITH_TAX, True),
        ("12345678", "invoice_number", None, False),
    ],
)
def test_codes_and_numbers_tell_the_fourth_field(
    value: str, kind: str, fourth: FourthField | None, digital: bool
) -> None:
    form = read_pasted(value, TODAY)
    assert (form.kind, form.fourth_field, form.digital, form.valid) == (kind, fourth, digital, True)


def test_code_and_number_fill_both_fields_and_name_the_type() -> None:
    form = read_pasted("  011002300111 12345678 ", TODAY)
    assert form.values == {"invoice_code": "011002300111", "invoice_number": "12345678"}
    assert form.type_name_zh == "增值税电子普通发票"


def test_an_old_e_invoice_qr_fills_every_field_with_the_last_six_of_the_check_code() -> None:
    form = read_pasted("01,10,044031900111,12345678,300.00,20201010,12345678901234567890,E400,", TODAY)
    assert form.kind == "qr_payload" and form.fourth_field is FourthField.CHECK_CODE_LAST6
    assert form.values == {
        "invoice_code": "044031900111",
        "invoice_number": "12345678",
        "issue_date": "2020-10-10",
        "check_code": "567890",
    }


def test_a_digital_qr_fills_the_total_including_tax() -> None:
    form = read_pasted("01,32,,24322000000012345678,390.00,20251030,,61BB", TODAY)
    assert form.digital and form.fourth_field is FourthField.TOTAL_WITH_TAX
    assert form.values["amount"] == "390.00" and form.values["invoice_code"] == ""
    assert form.values["invoice_number"] == "24322000000012345678"


@pytest.mark.parametrize(
    "value",
    ["hello", "91110000600037341L", "01,01,044031900111,12345678,300.00,20201010,,E400", "0110023 1234"],
)
def test_what_is_not_an_invoice_fills_nothing_and_says_why(value: str) -> None:
    form = read_pasted(value, TODAY)
    assert not form.valid and form.errors
    # a code and a number of the wrong lengths still fill the form, where the errors are shown
    assert not form.values or form.kind == "code_and_number"
