"""The e-invoice QR string (DOMAIN.md §3)."""

import contextlib
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fapiao.domain.invoice_types import FourthField
from fapiao.domain.qr_payload import QrPayload, QrPayloadError, format_qr_payload, parse_qr_payload

OLD_STYLE = "01,10,044031900111,12345678,300.00,20201010,12345678901234567890,E400,"
DIGITAL = "01,32,,24322000000012345678,390.00,20251030,,61BB"


def test_old_style_example() -> None:
    p = parse_qr_payload(OLD_STYLE)
    assert p == QrPayload(
        fplx="10",
        invoice_code="044031900111",
        invoice_number="12345678",
        amount=Decimal("300.00"),
        amount_field=FourthField.AMOUNT_EX_TAX,
        issue_date=date(2020, 10, 10),
        check_code="12345678901234567890",
        digest="E400",
    )


def test_digital_example() -> None:
    p = parse_qr_payload(DIGITAL)
    assert (p.fplx, p.invoice_code, p.invoice_number, p.check_code, p.digest) == (
        "32",
        "",
        "24322000000012345678",
        "",
        "61BB",
    )
    assert p.amount == Decimal("390.00") and p.amount_field is FourthField.TOTAL_WITH_TAX
    assert p.issue_date == date(2025, 10, 30)


@pytest.mark.parametrize("text", [OLD_STYLE, DIGITAL])
def test_examples_round_trip_exactly(text: str) -> None:
    assert format_qr_payload(parse_qr_payload(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        OLD_STYLE.rstrip(","),  # trailing comma optional
        DIGITAL + ",",
        " " + OLD_STYLE + "\n",
        "01,01,3200153130,12345678,1000.00,20190101,,a1b2,",  # 专票: no check code
        "01,08,044032000113,12345678,1000,20240101,,A1B2,",
        "01,04,032001900104,12345678,-50.00,20240101,12345678901234567890,A1B2,",  # 红字: negative
        "01,82,,24322000000012345678,390.00,20251030,,61BB",  # vendor alias of 32
        "01,10,144031539110,12345678,1.5,20160101,12345678901234567890,0000,",  # legacy code
        # a code the platform can't type: the QR's fplx is taken
        "01,10,144031917631,12345678,1.50,20190101,12345678901234567890,0000,",
    ],
)
def test_other_valid_payloads(text: str) -> None:
    p = parse_qr_payload(text)
    assert parse_qr_payload(format_qr_payload(p)) == p


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected 8 comma-separated fields, got 1"),
        ("01,10,044031900111,12345678,300.00,20201010,E400", "expected 8 comma-separated fields, got 7"),
        (OLD_STYLE + ",", "expected 8 comma-separated fields, got 10"),
        ("02" + OLD_STYLE[2:], "version: expected '01', got '02'"),
        ("01,77" + OLD_STYLE[5:], "fplx: unknown invoice type '77'"),
        ("01,04" + OLD_STYLE[5:], "fplx: 04 contradicts invoice code 044031900111, which is type 10"),
        ("01,32,044031900111,24322000000012345678,390.00,20251030,,61BB", "invoice_code: must be empty"),
        ("01,32,,12345678,390.00,20251030,,61BB", "invoice_number: 数电 numbers are 20 digits"),
        ("01,10,04403190011,12345678,300.00,20201010,12345678901234567890,E400,", "invoice_code: must be 10"),
        ("01,10,,12345678,300.00,20201010,12345678901234567890,E400,", "invoice_code: must be 10 or 12"),
        (
            "01,10,044031900111,1234567,300.00,20201010,12345678901234567890,E400,",
            "invoice_number: must be 8",
        ),
        ("01,10,044031900111,12345678,300.001,20201010,12345678901234567890,E400,", "amount: expected"),
        ("01,10,044031900111,12345678,,20201010,12345678901234567890,E400,", "amount: expected"),
        ("01,10,044031900111,12345678,1e3,20201010,12345678901234567890,E400,", "amount: expected"),
        ("01,10,044031900111,12345678,300.00,20201310,12345678901234567890,E400,", "issue_date: expected"),
        ("01,10,044031900111,12345678,300.00,2020-10-10,12345678901234567890,E400,", "issue_date: expected"),
        ("01,10,044031900111,12345678,300.00,20230229,12345678901234567890,E400,", "issue_date: expected"),
        (
            "01,10,044031900111,12345678,300.00,20201010,123456,E400,",
            "check_code: must be empty or 20 digits",
        ),
        ("01,10,044031900111,12345678,300.00,20201010,,E400,", "check_code: type 10 is checked by its check"),
        ("01,10,044031900111,12345678,300.00,20201010,12345678901234567890,E40G,", "digest: expected 4 hex"),
        ("01,10,044031900111,12345678,300.00,20201010,12345678901234567890,E4000,", "digest: expected 4 hex"),
    ],
)
def test_errors_name_the_bad_field(text: str, message: str) -> None:
    with pytest.raises(QrPayloadError) as e:
        parse_qr_payload(text)
    assert str(e.value).startswith(message)
    assert isinstance(e.value, ValueError)


@st.composite
def payloads(draw: st.DrawFn) -> QrPayload:
    digital = draw(st.booleans())
    amount = Decimal(draw(st.integers(-(10**12), 10**12))).scaleb(-draw(st.integers(0, 2)))
    check_code = draw(st.from_regex(r"[0-9]{20}", fullmatch=True))
    issued = draw(st.dates(date(2000, 1, 1), date(2099, 12, 31)))
    digest = draw(st.from_regex(r"[0-9A-Fa-f]{4}", fullmatch=True))
    if digital:
        return QrPayload(
            fplx=draw(st.sampled_from(["31", "32", "51", "61", "81", "82"])),
            invoice_code="",
            invoice_number=draw(st.from_regex(r"[0-9]{20}", fullmatch=True)),
            amount_field=FourthField.TOTAL_WITH_TAX,
            issue_date=issued,
            check_code=draw(st.sampled_from(["", check_code])),
            digest=digest,
            amount=amount,
        )
    code = draw(st.from_regex(r"0[0-9]{9}(11|13|04)", fullmatch=True))
    fplx = {"11": "10", "13": "08", "04": "04"}[code[-2:]]
    return QrPayload(
        fplx=fplx,
        invoice_code=code,
        invoice_number=draw(st.from_regex(r"[0-9]{8}", fullmatch=True)),
        amount_field=FourthField.AMOUNT_EX_TAX,
        issue_date=issued,
        check_code=check_code if fplx != "08" else draw(st.sampled_from(["", check_code])),
        digest=digest,
        amount=amount,
    )


@given(payloads())
def test_round_trip(p: QrPayload) -> None:
    assert parse_qr_payload(format_qr_payload(p)) == p


@given(st.text())
def test_parse_raises_only_qr_payload_error(text: str) -> None:
    with contextlib.suppress(QrPayloadError):
        parse_qr_payload(text)


@given(st.lists(st.text(alphabet="0123456789,.-ABEF", max_size=22), min_size=7, max_size=9).map(",".join))
def test_parse_raises_only_qr_payload_error_on_near_misses(text: str) -> None:
    try:
        p = parse_qr_payload(text)
    except QrPayloadError:
        return
    assert parse_qr_payload(format_qr_payload(p)) == p
