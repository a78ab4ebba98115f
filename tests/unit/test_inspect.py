"""`fapiao inspect`: what a pasted value is and what it encodes."""

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fapiao.domain.inspect import inspect_value

TODAY = date(2025, 11, 28)
OLD_STYLE = "01,10,044031900111,12345678,300.00,20201010,12345678901234567890,E400,"
DIGITAL = "01,32,,24322000000012345678,390.00,20251030,,61BB"


@pytest.mark.parametrize(
    ("value", "kind", "valid"),
    [
        ("044031900111", "invoice_code", True),
        ("3200153130", "invoice_code", True),
        ("044033100111", "invoice_code", False),
        ("12345678", "invoice_number", True),
        ("00000000", "invoice_number", False),
        ("24322000000012345678", "digital_invoice_number", True),
        ("24992000000012345678", "digital_invoice_number", False),
        ("91110000600037341L", "tax_id", True),
        ("91110000600037341l", "tax_id", True),
        ("91110000600037341K", "tax_id", False),
        ("110108123456789", "tax_id", True),
        (OLD_STYLE, "qr_payload", True),
        (DIGITAL, "qr_payload", True),
        ("01,10,x", "qr_payload", False),
        ("hello", "unknown", False),
        ("", "unknown", False),
        ("1234567", "unknown", False),
    ],
)
def test_kinds(value: str, kind: str, valid: bool) -> None:
    result = inspect_value(value, TODAY)
    assert (result["kind"], result["valid"]) == (kind, valid)
    assert result["value"] == value
    assert bool(result["errors"]) is not valid
    json.dumps(result)


def test_invoice_code_fields() -> None:
    result = inspect_value("044031900111", TODAY)
    assert result["fplx"] == "10" and result["type_name_zh"] == "增值税电子普通发票"
    assert result["fourth_field"] == "check_code_last6"
    assert (result["region"], result["region_name"], result["year"]) == ("4403", "深圳", 2019)


def test_digital_number_fields() -> None:
    result = inspect_value("24322000000012345678", TODAY)
    assert (result["year"], result["province"], result["province_name"]) == (2024, "32", "江苏")
    assert result["fourth_field"] == "total_with_tax"


def test_tax_id_fields() -> None:
    result = inspect_value("91 1101 08835337402M", TODAY)
    assert result["tax_id_kind"] == "uscc" and result["normalized"] == "91110108835337402M"
    assert (result["division"], result["division_name"]) == ("110108", "海淀")


def test_qr_payload_fields_are_json_ready() -> None:
    result = inspect_value(DIGITAL, TODAY)
    assert result["amount"] == "390.00" and result["issue_date"] == "2025-10-30"
    assert result["amount_field"] == "total_with_tax"
    assert result["invoice_key"] == "24322000000012345678"
    old = inspect_value(OLD_STYLE, TODAY)
    assert old["amount_field"] == "amount_ex_tax" and old["invoice_key"] == "044031900111-12345678"


def test_qr_payload_error_names_the_field() -> None:
    result = inspect_value(OLD_STYLE.replace("20201010", "20201310"), TODAY)
    assert result["errors"] == ["issue_date: expected a date as YYYYMMDD, got '20201310'"]


def test_well_formed_qr_payload_with_a_refused_code() -> None:
    result = inspect_value(OLD_STYLE.replace("044031900111", "099001900111"), TODAY)
    assert result["kind"] == "qr_payload" and not result["valid"]
    assert result["errors"] == ["invoice_code: unknown region 9900"]


@given(st.text())
def test_always_json_serialisable(value: str) -> None:
    result = inspect_value(value, TODAY)
    assert json.loads(json.dumps(result))["kind"] in {
        "invoice_code",
        "invoice_number",
        "digital_invoice_number",
        "tax_id",
        "qr_payload",
        "unknown",
    }
