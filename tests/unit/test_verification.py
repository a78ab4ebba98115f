"""The verification rules (`fapiao.domain.verification`): every invoice type × every verdict.

DOMAIN.md §1 (types and their fourth field) and §4 (what the platform answers). `decide` is pure, so
every case builds a register entry with the fold functions and asks for a decision.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from fapiao.domain import register
from fapiao.domain.invoice_codes import fplx_from_code, make_invoice_code
from fapiao.domain.invoice_numbers import make_digital_number
from fapiao.domain.invoice_types import INVOICE_TYPES, FourthField, invoice_type
from fapiao.domain.verification import (
    DAILY_CHECK_LIMIT,
    MESSAGES,
    Decision,
    awaiting_sync,
    decide,
    expected_amount,
    mismatched_fields,
)
from schemas.events import CheckRequested, InvoiceIssued, InvoiceStatus, Verdict
from tests.factories import BUYER, SELLER, check_of, issued, status_change

TODAY = date(2026, 11, 25)  # Asia/Shanghai calendar day of the requests
REQUESTED_AT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
ISSUE_DATE = date(2026, 11, 20)
WINDOW = timedelta(hours=24)
CHECK_CODE = "12345678901234567890"
AMOUNT_TYPES = {"01", "02", "03", "08", "15", "31", "32", "51", "61"}
CHECK_CODE_TYPES = {"04", "10", "11", "14"}


@dataclass(frozen=True)
class Kind:
    """One way an invoice of a type is identified: its fplx, 发票代码 (empty for 数电) and 号码."""

    label: str
    fplx: str
    code: str
    number: str

    @property
    def fourth(self) -> FourthField:
        return invoice_type(self.fplx).fourth_field

    def __str__(self) -> str:
        return self.label


def _coded(fplx: str, seed: int, label: str | None = None) -> Kind:
    code = make_invoice_code(fplx, "1100", 2025, random.Random(seed))
    return Kind(label or fplx, fplx, code, f"{seed:08d}")


def _digital(fplx: str, province: str, seed: int) -> Kind:
    return Kind(fplx, fplx, "", make_digital_number(2026, province, random.Random(seed)))


KINDS: tuple[Kind, ...] = (
    _coded("01", 1),
    _coded("02", 2),  # 货运专票: retired 2016-07-01 but old ones are still checkable
    _coded("03", 3),
    _coded("04", 4, "04-12digit"),
    Kind("04-10digit", "04", "1100251330", "00000044"),  # 10-digit 普票 (category digit 3)
    _coded("08", 8),
    _coded("10", 10),
    Kind("10-legacy", "10", "144031539110", "00000110"),  # 2015 pilot code, typed 10 by the platform
    _coded("11", 11),
    _coded("14", 14),
    _coded("15", 15),
    _digital("31", "32", 31),
    _digital("32", "44", 32),
    _digital("51", "11", 51),
    _digital("61", "31", 61),
)
BY_LABEL = {k.label: k for k in KINDS}
STATUS_VERDICTS = {
    InvoiceStatus.VOIDED: Verdict.VOIDED,
    InvoiceStatus.RED_FLUSHED_PARTIAL: Verdict.RED_FLUSHED_PARTIAL,
    InvoiceStatus.RED_FLUSHED_FULL: Verdict.RED_FLUSHED_FULL,
    InvoiceStatus.ABNORMAL: Verdict.ABNORMAL,
}


def invoice_of(kind: Kind, **overrides: object) -> InvoiceIssued:
    fields: dict[str, object] = {
        "fplx": kind.fplx,
        "code": kind.code,
        "number": kind.number,
        "issue_date": ISSUE_DATE,
        "amount": "100.00",
        "tax": "13.00",
        "check_code": CHECK_CODE,
    }
    fields.update(overrides)
    return issued(**fields)  # type: ignore[arg-type]


def request_of(invoice: InvoiceIssued, **overrides: Any) -> CheckRequested:
    return check_of(invoice, requested_at=REQUESTED_AT, **overrides)


def run(
    request: CheckRequested,
    entry: register.Entry | None,
    *,
    today: date = TODAY,
    now: datetime = REQUESTED_AT,
    window: timedelta = WINDOW,
    recheck: bool = False,
) -> Decision:
    return decide(request, entry, today, now=now, sync_window=window, recheck=recheck)


def entry_of(invoice: InvoiceIssued, status: InvoiceStatus | None = None) -> register.Entry:
    entry = register.apply_issued(None, invoice)
    if status is not None:
        entry = register.apply_status(entry, status_change(invoice, status))
    return entry


def counted(entry: register.Entry | None, times: int, day: date = TODAY) -> register.Entry | None:
    for _ in range(times):
        entry = register.count_check(entry, day)
    return entry


def wrong_fourth(kind: Kind, invoice: InvoiceIssued) -> dict[str, object]:
    """Overrides that get the fourth field wrong (but well-formed) for this kind."""
    if kind.fourth is FourthField.CHECK_CODE_LAST6:
        last6 = invoice.check_code[-6:]
        return {"check_code": f"{(int(last6) + 1) % 10**6:06d}"}
    return {"amount": expected_amount(invoice, kind.fourth) + Decimal("0.01")}


def face_values(invoice: InvoiceIssued) -> list[str]:
    """Everything of the register's invoice a mismatching requester must not learn."""
    return [
        invoice.issue_date.isoformat(),
        invoice.issue_date.strftime("%Y%m%d"),
        str(invoice.amount),
        str(invoice.total),
        invoice.check_code[-6:] if invoice.check_code else "",
        invoice.seller.name,
        invoice.buyer.name,
    ]


kinds = pytest.mark.parametrize("kind", KINDS, ids=str)


# --- the table itself ------------------------------------------------------------------------------


def test_every_type_of_domain_md_is_covered() -> None:
    assert {k.fplx for k in KINDS} == set(INVOICE_TYPES) == {
        "01", "02", "03", "04", "08", "10", "11", "14", "15", "31", "32", "51", "61",
    }  # fmt: skip
    assert {k.fplx for k in KINDS if k.fourth.is_amount} == AMOUNT_TYPES
    assert {k.fplx for k in KINDS if not k.fourth.is_amount} == CHECK_CODE_TYPES


@kinds
def test_each_kind_is_typed_as_itself(kind: Kind) -> None:
    if kind.code:
        assert fplx_from_code(kind.code) == kind.fplx
        assert len(kind.number) == 8
    else:
        assert invoice_type(kind.fplx).digital and len(kind.number) == 20


# --- consistent -------------------------------------------------------------------------------------


@kinds
def test_consistent_shows_the_invoice_face(kind: Kind) -> None:
    invoice = invoice_of(kind)
    decision = run(request_of(invoice), entry_of(invoice))
    assert decision.verdict is Verdict.CONSISTENT
    assert decision.mismatched_fields == ()
    assert decision.counted is True
    face = decision.invoice
    assert face is not None
    assert (face.fplx, face.type_name) == (kind.fplx, invoice_type(kind.fplx).name_zh)
    assert (face.invoice_code, face.invoice_number) == (kind.code, kind.number)
    assert face.issue_date == ISSUE_DATE
    assert (face.seller, face.buyer) == (SELLER, BUYER)
    assert face.lines == invoice.lines and len(face.lines) == 1
    assert (face.amount, face.tax, face.total) == (Decimal("100.00"), Decimal("13.00"), Decimal("113.00"))
    assert face.status is InvoiceStatus.NORMAL
    assert face.remarks == invoice.remarks
    assert "check_code" not in face.model_dump()  # the face never carries the 校验码
    assert (decision.message_zh, decision.message_en) == MESSAGES[Verdict.CONSISTENT]


@kinds
def test_a_request_with_an_extra_fourth_field_is_judged_on_the_right_one(kind: Kind) -> None:
    invoice = invoice_of(kind)
    # the other field is wrong, but it is not the one the type is checked by
    extra = {"check_code": "999999"} if kind.fourth.is_amount else {"amount": Decimal("1.00")}
    assert run(request_of(invoice, **extra), entry_of(invoice)).verdict is Verdict.CONSISTENT


# --- inconsistent ----------------------------------------------------------------------------------


@kinds
@pytest.mark.parametrize("wrong", ["issue_date", "fourth", "both"])
def test_inconsistent_lists_every_differing_field(kind: Kind, wrong: str) -> None:
    invoice = invoice_of(kind)
    overrides: dict[str, object] = {}
    expected: list[str] = []
    if wrong in ("issue_date", "both"):
        overrides["issue_date"] = ISSUE_DATE - timedelta(days=1)
        expected.append("issue_date")
    if wrong in ("fourth", "both"):
        overrides.update(wrong_fourth(kind, invoice))
        expected.append("amount" if kind.fourth.is_amount else "check_code")
    decision = run(request_of(invoice, **overrides), entry_of(invoice))
    assert decision.verdict is Verdict.INCONSISTENT
    assert decision.mismatched_fields == tuple(expected)
    assert decision.invoice is None
    assert decision.counted is True
    assert (decision.message_zh, decision.message_en) == MESSAGES[Verdict.INCONSISTENT]
    shown = " ".join([decision.message_zh, decision.message_en, *decision.mismatched_fields])
    for value in filter(None, face_values(invoice)):
        assert value not in shown  # the field names only, never the register's values


@kinds
@pytest.mark.parametrize("status", list(InvoiceStatus), ids=str)
def test_status_is_only_revealed_when_every_field_matches(kind: Kind, status: InvoiceStatus) -> None:
    invoice = invoice_of(kind)
    entry = entry_of(invoice, status)
    decision = run(request_of(invoice, **wrong_fourth(kind, invoice)), entry)
    assert decision.verdict is Verdict.INCONSISTENT
    assert decision.invoice is None
    assert status.value not in decision.message_en


# --- status verdicts -------------------------------------------------------------------------------


@kinds
@pytest.mark.parametrize(("status", "verdict"), STATUS_VERDICTS.items(), ids=str)
def test_status_verdicts(kind: Kind, status: InvoiceStatus, verdict: Verdict) -> None:
    invoice = invoice_of(kind)
    decision = run(request_of(invoice), entry_of(invoice, status))
    assert decision.verdict is verdict
    assert decision.invoice is not None and decision.invoice.status is status
    assert decision.invoice.seller == SELLER and decision.invoice.total == invoice.total
    assert decision.mismatched_fields == ()
    assert decision.counted is True
    assert (decision.message_zh, decision.message_en) == MESSAGES[verdict]


def test_a_status_back_to_normal_is_consistent_again() -> None:
    invoice = invoice_of(BY_LABEL["10"])
    entry = entry_of(invoice, InvoiceStatus.ABNORMAL)
    later = status_change(invoice, InvoiceStatus.NORMAL, at=datetime(2026, 11, 22, tzinfo=UTC))
    entry = register.apply_status(entry, later)
    assert run(request_of(invoice), entry).verdict is Verdict.CONSISTENT


def test_a_status_change_before_the_issuance_is_kept() -> None:
    invoice = invoice_of(BY_LABEL["01"])
    entry = register.apply_status(None, status_change(invoice, InvoiceStatus.RED_FLUSHED_FULL))
    held = run(request_of(invoice, issue_date=TODAY), entry)
    assert held.verdict is Verdict.PENDING_SYNC  # a status alone is not an invoice
    entry = register.apply_issued(entry, invoice)
    assert run(request_of(invoice), entry).verdict is Verdict.RED_FLUSHED_FULL


# --- not found / pending sync ----------------------------------------------------------------------


@kinds
@pytest.mark.parametrize("with_entry", [False, True], ids=["no-entry", "counts-only-entry"])
def test_not_found_for_an_old_issue_date(kind: Kind, with_entry: bool) -> None:
    invoice = invoice_of(kind)  # issued 5 days before the request, well outside a 24 h window
    entry = counted(None, 2) if with_entry else None
    decision = run(request_of(invoice), entry)
    assert decision.verdict is Verdict.NOT_FOUND
    assert decision.invoice is None and decision.mismatched_fields == ()
    assert decision.counted is True
    assert (decision.message_zh, decision.message_en) == MESSAGES[Verdict.NOT_FOUND]


@kinds
@pytest.mark.parametrize("days_ago", [0, 1])
def test_pending_sync_for_a_recent_invoice_within_the_window(kind: Kind, days_ago: int) -> None:
    invoice = invoice_of(kind, issue_date=TODAY - timedelta(days=days_ago))
    decision = run(request_of(invoice), None)
    assert decision.verdict is Verdict.PENDING_SYNC
    assert decision.counted is True  # the hold and its later answer are one check
    assert decision.invoice is None
    assert (decision.message_zh, decision.message_en) == MESSAGES[Verdict.PENDING_SYNC]


@kinds
def test_not_found_once_the_window_has_run_out(kind: Kind) -> None:
    invoice = invoice_of(kind, issue_date=TODAY)
    request = request_of(invoice)
    assert run(request, None, now=REQUESTED_AT + WINDOW - timedelta(seconds=1)).verdict is (
        Verdict.PENDING_SYNC
    )
    assert run(request, None, now=REQUESTED_AT + WINDOW).verdict is Verdict.NOT_FOUND
    assert run(request, None, now=REQUESTED_AT + 2 * WINDOW).verdict is Verdict.NOT_FOUND


@kinds
def test_a_held_check_is_answered_once_the_issuance_is_in(kind: Kind) -> None:
    invoice = invoice_of(kind, issue_date=TODAY)
    request = request_of(invoice)
    assert run(request, None).verdict is Verdict.PENDING_SYNC
    assert run(request, entry_of(invoice)).verdict is Verdict.CONSISTENT


@pytest.mark.parametrize(
    ("issue_days_ago", "elapsed", "window", "expected"),
    [
        (0, timedelta(0), timedelta(hours=24), True),
        (1, timedelta(0), timedelta(hours=24), True),
        (2, timedelta(0), timedelta(hours=24), False),  # too old to be still on its way
        (0, timedelta(hours=23, minutes=59), timedelta(hours=24), True),
        (0, timedelta(hours=24), timedelta(hours=24), False),  # the window has run out
        (0, timedelta(days=3), timedelta(hours=24), False),
        (0, timedelta(minutes=5), timedelta(minutes=30), True),  # sub-day windows still look 1 day back
        (1, timedelta(minutes=5), timedelta(minutes=30), True),
        (2, timedelta(minutes=5), timedelta(minutes=30), False),
        (0, timedelta(minutes=30), timedelta(minutes=30), False),
        (3, timedelta(hours=1), timedelta(days=3), True),  # long windows look back their days
        (4, timedelta(hours=1), timedelta(days=3), False),
    ],
)
def test_awaiting_sync(issue_days_ago: int, elapsed: timedelta, window: timedelta, expected: bool) -> None:
    invoice = invoice_of(BY_LABEL["10"], issue_date=TODAY - timedelta(days=issue_days_ago))
    request = request_of(invoice)
    assert awaiting_sync(request, TODAY, now=REQUESTED_AT + elapsed, sync_window=window) is expected


# --- limit exceeded ----------------------------------------------------------------------------------


def test_the_daily_limit_is_five() -> None:
    assert DAILY_CHECK_LIMIT == 5


@kinds
def test_the_sixth_check_of_the_day_is_refused(kind: Kind) -> None:
    invoice = invoice_of(kind)
    request = request_of(invoice)
    entry: register.Entry | None = entry_of(invoice)
    for _ in range(DAILY_CHECK_LIMIT):  # checks 1..5 are answered (and counted by the caller)
        decision = run(request, entry)
        assert decision.verdict is Verdict.CONSISTENT and decision.counted
        entry = register.count_check(entry, TODAY)
    refused = run(request, entry)
    assert refused.verdict is Verdict.LIMIT_EXCEEDED
    assert refused.counted is False  # a refused check does not count
    assert refused.invoice is None and refused.mismatched_fields == ()
    assert (refused.message_zh, refused.message_en) == MESSAGES[Verdict.LIMIT_EXCEEDED]


@kinds
def test_a_new_day_resets_the_limit(kind: Kind) -> None:
    invoice = invoice_of(kind)
    entry = counted(entry_of(invoice), DAILY_CHECK_LIMIT, day=TODAY - timedelta(days=1))
    assert run(request_of(invoice), entry).verdict is Verdict.CONSISTENT


@kinds
def test_a_recheck_bypasses_the_limit(kind: Kind) -> None:
    invoice = invoice_of(kind)
    entry = counted(entry_of(invoice), DAILY_CHECK_LIMIT + 3)
    assert run(request_of(invoice), entry, recheck=True).verdict is Verdict.CONSISTENT


@pytest.mark.parametrize(
    ("entry_kind", "expected"),
    [
        ("none", Verdict.PENDING_SYNC),  # no entry: nothing counted yet
        ("counts-only", Verdict.LIMIT_EXCEEDED),  # counted before the issuance arrived
        ("issued-voided", Verdict.LIMIT_EXCEEDED),  # refused before the status is looked at
    ],
)
def test_the_limit_is_applied_before_the_register_is_consulted(entry_kind: str, expected: Verdict) -> None:
    invoice = invoice_of(BY_LABEL["32"], issue_date=TODAY)
    entry = {
        "none": None,
        "counts-only": counted(None, DAILY_CHECK_LIMIT),
        "issued-voided": counted(entry_of(invoice, InvoiceStatus.VOIDED), DAILY_CHECK_LIMIT),
    }[entry_kind]
    assert run(request_of(invoice), entry).verdict is expected


def test_the_limit_is_counted_per_invoice_not_per_requester() -> None:
    invoice = invoice_of(BY_LABEL["01"])
    entry = counted(entry_of(invoice), DAILY_CHECK_LIMIT)
    stranger = request_of(invoice, requester="a-first-time-requester")
    assert run(stranger, entry).verdict is Verdict.LIMIT_EXCEEDED


def test_a_wrong_guess_uses_up_the_limit_too() -> None:
    invoice = invoice_of(BY_LABEL["10"])
    entry = counted(entry_of(invoice), DAILY_CHECK_LIMIT)
    assert run(request_of(invoice, check_code="000000"), entry).verdict is Verdict.LIMIT_EXCEEDED


# --- too old ---------------------------------------------------------------------------------------


@kinds
@pytest.mark.parametrize(
    ("issue_date", "expected"),
    [
        (date(2021, 11, 25), Verdict.CONSISTENT),  # the 5th anniversary is still in time
        (date(2021, 11, 26), Verdict.CONSISTENT),
        (date(2021, 11, 24), Verdict.TOO_OLD),
        (date(2016, 1, 1), Verdict.TOO_OLD),
    ],
)
def test_too_old(kind: Kind, issue_date: date, expected: Verdict) -> None:
    invoice = invoice_of(kind, issue_date=issue_date)
    # even with today's checks used up: 超五年 is decided before the limit
    entry = counted(entry_of(invoice), DAILY_CHECK_LIMIT if expected is Verdict.TOO_OLD else 0)
    decision = run(request_of(invoice), entry)
    assert decision.verdict is expected
    if expected is Verdict.TOO_OLD:
        assert decision.counted is False and decision.invoice is None
        assert (decision.message_zh, decision.message_en) == MESSAGES[Verdict.TOO_OLD]


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2025, 2, 27), Verdict.CONSISTENT),
        (date(2025, 2, 28), Verdict.CONSISTENT),  # 29 Feb's anniversary in a common year is 28 Feb
        (date(2025, 3, 1), Verdict.TOO_OLD),
    ],
)
@pytest.mark.parametrize("label", ["01", "10", "32"])
def test_too_old_for_a_29_february_invoice(label: str, today: date, expected: Verdict) -> None:
    kind = BY_LABEL[label]
    if kind.code:
        kind = Kind(
            label, kind.fplx, make_invoice_code(kind.fplx, "1100", 2020, random.Random(7)), "00000229"
        )
    else:
        kind = Kind(label, kind.fplx, "", make_digital_number(2020, "32", random.Random(7)))
    invoice = invoice_of(kind, issue_date=date(2020, 2, 29))
    requested_at = datetime(today.year, today.month, today.day, 3, tzinfo=UTC)
    request = check_of(invoice, requested_at=requested_at)
    decision = decide(request, entry_of(invoice), today, now=requested_at, sync_window=WINDOW)
    assert decision.verdict is expected


def test_an_old_invoice_that_is_not_in_the_register_is_too_old_not_not_found() -> None:
    invoice = invoice_of(BY_LABEL["04-10digit"], issue_date=date(2020, 1, 1))
    assert run(request_of(invoice), None).verdict is Verdict.TOO_OLD


# --- invalid ---------------------------------------------------------------------------------------


@kinds
@pytest.mark.parametrize("other", ["wrong", "missing"])
def test_invalid_without_the_fourth_field_the_type_needs(kind: Kind, other: str) -> None:
    invoice = invoice_of(kind)
    if kind.fourth.is_amount:
        overrides: dict[str, object] = {"amount": None, "check_code": "123456" if other == "wrong" else None}
        field = "amount"
    else:
        overrides = {"check_code": None, "amount": Decimal("100.00") if other == "wrong" else None}
        field = "check_code"
    decision = run(request_of(invoice, **overrides), entry_of(invoice))
    assert decision.verdict is Verdict.INVALID
    assert decision.mismatched_fields == (field,)
    assert decision.counted is False and decision.invoice is None
    assert kind.fourth.label_zh in decision.message_zh
    assert kind.fourth.label_en in decision.message_en
    assert decision.message_zh.startswith(MESSAGES[Verdict.INVALID][0] + ": ")
    assert decision.message_en.startswith(MESSAGES[Verdict.INVALID][1] + ": ")


@kinds
def test_invalid_for_a_future_issue_date(kind: Kind) -> None:
    invoice = invoice_of(kind, issue_date=TODAY + timedelta(days=1))
    decision = run(request_of(invoice), entry_of(invoice))
    assert decision.verdict is Verdict.INVALID
    assert decision.mismatched_fields == ("issue_date",)
    assert decision.counted is False
    assert "开票日期" in decision.message_zh and "issue date" in decision.message_en


@kinds
def test_invalid_is_decided_before_the_limit_and_the_register(kind: Kind) -> None:
    invoice = invoice_of(kind)
    entry = counted(entry_of(invoice, InvoiceStatus.VOIDED), DAILY_CHECK_LIMIT)
    request = request_of(invoice, issue_date=TODAY + timedelta(days=30))
    assert run(request, entry).verdict is Verdict.INVALID
    assert run(request, entry, recheck=True).verdict is Verdict.INVALID


C10 = BY_LABEL["10"].code
C01 = BY_LABEL["01"].code
D32 = BY_LABEL["32"].number


@pytest.mark.parametrize(
    ("code", "number", "amount", "check_code", "fields"),
    [
        (C10, "00000000", None, "123456", ("invoice_number",)),  # all-zero 8-digit number
        (C10, "123456789", None, "123456", ("invoice_number",)),  # 9 digits
        (C10, D32, None, "123456", ("invoice_number",)),  # a 数电 number under a code
        ("", "12345678", None, "123456", ("invoice_code",)),  # an 8-digit number needs its code
        ("", "1234567890", "100.00", None, ("invoice_number",)),
        ("", "27322000000000000001", "100.00", None, ("invoice_number",)),  # year 2027 in the future
        ("", "26992000000000000001", "100.00", None, ("invoice_number",)),  # province 99 unknown
        ("01100230011", "12345678", None, "123456", ("invoice_code",)),  # 11-digit code
        ("144031917631", "12345678", "100.00", None, ("invoice_code",)),  # type can't be told
        ("044032700111", "12345678", None, "123456", ("invoice_code",)),  # code year 2027
        ("044030000111", "12345678", None, "123456", ("invoice_code",)),  # code year 00
        (C10, "12345678", None, "12345", ("check_code",)),
        (C10, "12345678", None, "1234567", ("check_code",)),
        (C10, "12345678", None, "1234567890123456789", ("check_code",)),
        (C01, "12345678", "0", None, ("amount",)),
        (C01, "12345678", "-5.00", None, ("amount",)),
        (C01, "12345678", "100000000000.00", None, ("amount",)),
        ("", D32, "0.00", None, ("amount",)),
    ],
)
def test_invalid_formats(
    code: str, number: str, amount: str | None, check_code: str | None, fields: tuple[str, ...]
) -> None:
    request = CheckRequested(
        check_id=uuid.UUID(int=1),
        requested_at=REQUESTED_AT,
        requester="r",
        invoice_code=code,
        invoice_number=number,
        issue_date=ISSUE_DATE,
        amount=Decimal(amount) if amount is not None else None,
        check_code=check_code,
    )
    decision = run(request, None)
    assert decision.verdict is Verdict.INVALID
    assert decision.mismatched_fields == fields
    assert decision.counted is False
    assert decision.message_zh != MESSAGES[Verdict.INVALID][0]  # the detail says what is wrong
    assert decision.message_en != MESSAGES[Verdict.INVALID][1]


def test_invalid_lists_each_field_once() -> None:
    # 12-digit code with an unknown type (suffix 99) AND an unknown region (99xx)
    request = CheckRequested(
        check_id=uuid.UUID(int=2),
        requested_at=REQUESTED_AT,
        requester="r",
        invoice_code="099002300199",
        invoice_number="12345678",
        issue_date=ISSUE_DATE,
        check_code="123456",
    )
    decision = run(request, None)
    assert decision.verdict is Verdict.INVALID
    assert decision.mismatched_fields == ("invoice_code",)


# --- the fourth field, in detail ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fourth", "expected"),
    [
        (FourthField.AMOUNT_EX_TAX, "100.00"),
        (FourthField.TOTAL_AMOUNT, "100.00"),  # 货运专票 合计金额 is before tax
        (FourthField.VEHICLE_PRICE_EX_TAX, "100.00"),
        (FourthField.USED_CAR_TOTAL, "113.00"),
        (FourthField.TOTAL_WITH_TAX, "113.00"),
    ],
)
def test_expected_amount(fourth: FourthField, expected: str) -> None:
    assert expected_amount(invoice_of(BY_LABEL["01"]), fourth) == Decimal(expected)


AMOUNT_KINDS = [k for k in KINDS if k.fourth.is_amount]
CHECK_KINDS = [k for k in KINDS if not k.fourth.is_amount]
_PROPERTY_INVOICE = invoice_of(BY_LABEL["01"])
_PROPERTY_REQUEST = request_of(_PROPERTY_INVOICE)
_PROPERTY_CHECK_INVOICE = invoice_of(BY_LABEL["10"])
_PROPERTY_CHECK_REQUEST = request_of(_PROPERTY_CHECK_INVOICE)


@pytest.mark.parametrize("kind", AMOUNT_KINDS, ids=str)
@pytest.mark.parametrize(
    ("asked", "matches"),
    [
        ("100", True),
        ("100.0", True),
        ("100.00", True),
        ("100.01", False),
        ("99.99", False),
        ("101", False),
        ("0.01", False),
    ],
)
def test_amounts_are_compared_to_the_cent(kind: Kind, asked: str, matches: bool) -> None:
    # no tax: amount and total are both 100.00, whichever of them the type is checked by
    invoice = invoice_of(kind, amount="100.00", tax="0.00")
    request = request_of(invoice, amount=Decimal(asked))
    assert (mismatched_fields(request, invoice) == ()) is matches


@pytest.mark.parametrize("kind", AMOUNT_KINDS, ids=str)
def test_each_amount_type_is_checked_by_its_own_amount(kind: Kind) -> None:
    invoice = invoice_of(kind, amount="1000.00", tax="130.00")
    by_total = kind.fourth in (FourthField.TOTAL_WITH_TAX, FourthField.USED_CAR_TOTAL)
    right, other = (invoice.total, invoice.amount) if by_total else (invoice.amount, invoice.total)
    assert mismatched_fields(request_of(invoice, amount=right), invoice) == ()
    assert mismatched_fields(request_of(invoice, amount=other), invoice) == ("amount",)


@pytest.mark.parametrize("kind", CHECK_KINDS, ids=str)
@pytest.mark.parametrize(
    ("asked", "matches"),
    [
        ("567890", True),  # the last 6
        (CHECK_CODE, True),  # the full 20
        ("567891", False),
        ("123456", False),  # the first 6 are not the last 6
        ("00000000000000567890", False),  # a full 20 differing in the first 14 digits
        ("12345678901234567891", False),
        ("92345678901234567890", False),
    ],
)
def test_check_codes_are_compared_on_the_last_6(kind: Kind, asked: str, matches: bool) -> None:
    invoice = invoice_of(kind, check_code=CHECK_CODE)
    request = request_of(invoice, check_code=asked)
    assert mismatched_fields(request, invoice) == (() if matches else ("check_code",))
    decision = run(request, entry_of(invoice))
    assert decision.verdict is (Verdict.CONSISTENT if matches else Verdict.INCONSISTENT)


@given(
    register_cents=st.integers(min_value=1, max_value=10**13),
    request_cents=st.integers(min_value=1, max_value=10**13),
)
def test_amount_mismatch_iff_the_cents_differ(register_cents: int, request_cents: int) -> None:
    amount = Decimal(register_cents).scaleb(-2)
    invoice = _PROPERTY_INVOICE.model_copy(update={"amount": amount})
    request = _PROPERTY_REQUEST.model_copy(update={"amount": Decimal(request_cents).scaleb(-2)})
    expected = () if register_cents == request_cents else ("amount",)
    assert mismatched_fields(request, invoice) == expected


_TWENTY = st.from_regex(r"[0-9]{20}", fullmatch=True)


@given(check_code=_TWENTY, asked=_TWENTY | _TWENTY.map(lambda s: "00000000000000" + s[-6:]))
def test_a_full_check_code_matches_only_itself(check_code: str, asked: str) -> None:
    invoice = _PROPERTY_CHECK_INVOICE.model_copy(update={"check_code": check_code})
    full = _PROPERTY_CHECK_REQUEST.model_copy(update={"check_code": asked})
    last6 = _PROPERTY_CHECK_REQUEST.model_copy(update={"check_code": asked[-6:]})
    assert (mismatched_fields(full, invoice) == ()) is (asked == check_code)
    assert (mismatched_fields(last6, invoice) == ()) is (asked[-6:] == check_code[-6:])


# --- messages ---------------------------------------------------------------------------------------

_CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("verdict", list(Verdict), ids=str)
def test_every_verdict_has_a_chinese_and_an_english_message(verdict: Verdict) -> None:
    zh, en = MESSAGES[verdict]
    assert _CJK.search(zh), zh
    assert en and en.isascii() and not _CJK.search(en)


def test_messages_are_distinct() -> None:
    assert set(MESSAGES) == set(Verdict)
    assert len({zh for zh, _ in MESSAGES.values()}) == len(Verdict)
    assert len({en for _, en in MESSAGES.values()}) == len(Verdict)


@pytest.mark.parametrize("verdict", list(Verdict), ids=str)
def test_decision_messages_append_the_detail(verdict: Verdict) -> None:
    zh, en = MESSAGES[verdict]
    bare = Decision(verdict)
    assert (bare.message_zh, bare.message_en) == (zh, en)
    detailed = Decision(verdict, detail_zh="细节", detail_en="detail")
    assert (detailed.message_zh, detailed.message_en) == (f"{zh}: 细节", f"{en}: detail")


@pytest.mark.parametrize("fplx", ["09", "83", "99"])
def test_an_issuance_the_schema_accepts_never_makes_decide_raise(fplx: str) -> None:
    kind = BY_LABEL["10"]
    try:
        invoice = invoice_of(kind, fplx=fplx)
    except ValidationError:
        return  # refused at decoding: it goes to the dead-letter topic, which is fine too
    request = request_of(invoice_of(kind))  # a well-formed check of that invoice key
    decision = run(request, entry_of(invoice))
    assert decision.verdict is Verdict.CONSISTENT


# --- purity -----------------------------------------------------------------------------------------


def test_decide_does_not_touch_the_entry() -> None:
    import copy

    invoice = invoice_of(BY_LABEL["15"])
    entry = counted(entry_of(invoice, InvoiceStatus.RED_FLUSHED_PARTIAL), 3)
    assert entry is not None
    before = copy.deepcopy(entry)
    run(request_of(invoice), entry)
    run(request_of(invoice), entry, recheck=True)
    assert entry == before
