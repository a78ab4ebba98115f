"""HTTP models of the intake API (`services.api.models`): what `CheckCreate` accepts, how views are built."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from fapiao.domain import register
from fapiao.domain.results import build_result
from fapiao.domain.verification import MESSAGES, Decision, decide
from fapiao.warehouse.results import COLUMNS, result_row
from schemas.events import CheckResult, InvoiceStatus, Verdict
from services.api.models import CheckAccepted, CheckCreate, CheckView
from tests.factories import check_of, issued, status_change

CODED = {"invoice_code": "011002300111", "invoice_number": "12345678", "check_code": "123456"}
DIGITAL = {"invoice_number": "26112000000012345678", "amount": "1130.00"}
REQUESTED_AT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def create(**fields: Any) -> CheckCreate:
    body = {**CODED, "issue_date": "2026-11-20", **fields}
    return CheckCreate.model_validate({k: v for k, v in body.items() if v is not _DROP})


_DROP = object()


def rejected(**fields: Any) -> list[str]:
    """The locations pydantic refuses, for a body with `fields` changed."""
    with pytest.raises(ValidationError) as info:
        create(**fields)
    return [".".join(str(p) for p in e["loc"]) for e in info.value.errors()]


# --- CheckCreate: dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-11-20", date(2026, 11, 20)),
        ("20261120", date(2026, 11, 20)),
        ("20240229", date(2024, 2, 29)),
        ("2024-02-29", date(2024, 2, 29)),
        ("19991231", date(1999, 12, 31)),
    ],
)
def test_issue_date_accepts_yyyy_mm_dd_and_yyyymmdd(given: str, expected: date) -> None:
    assert create(issue_date=given).issue_date == expected


def test_both_date_forms_give_the_same_check() -> None:
    assert create(issue_date="20261120") == create(issue_date="2026-11-20")


@pytest.mark.parametrize(
    "given",
    [
        "20261320",  # month 13
        "20230229",  # not a leap year
        "2026-11-31",
        "2026/11/20",
        "2026.11.20",
        "2026112",  # 7 digits
        "202611200",  # 9 digits
        "20-11-2026",
        "",
        "tomorrow",
        None,
    ],
)
def test_issue_date_rejects_malformed_dates(given: object) -> None:
    assert rejected(issue_date=given) == ["issue_date"]


@pytest.mark.parametrize("given", [20261120, 20261120.0, 1763596800, 0, True])
def test_issue_date_rejects_numbers(given: object) -> None:
    with pytest.raises(ValidationError, match="not a number"):
        create(issue_date=given)


def test_issue_date_rejects_numbers_in_json_too() -> None:
    body = '{"invoice_number": "26112000000012345678", "amount": "1.00", "issue_date": 20261120}'
    with pytest.raises(ValidationError, match="not a number"):
        CheckCreate.model_validate_json(body)
    ok = '{"invoice_number": "26112000000012345678", "amount": "1.00", "issue_date": "20261120"}'
    assert CheckCreate.model_validate_json(ok).issue_date == date(2026, 11, 20)


@pytest.mark.parametrize("given", ["1763596800", "1763596800.0", "86400"])
def test_issue_date_rejects_timestamp_strings(given: str) -> None:
    assert rejected(issue_date=given) == ["issue_date"]


# --- CheckCreate: code, number, check code, amount -------------------------------------------------------


@pytest.mark.parametrize("code", ["", "1100251330", "011002300111"])
def test_invoice_code_accepts_empty_10_or_12_digits(code: str) -> None:
    assert create(invoice_code=code).invoice_code == code


def test_invoice_code_defaults_to_empty() -> None:
    assert CheckCreate.model_validate({**DIGITAL, "issue_date": "2026-11-20"}).invoice_code == ""


@pytest.mark.parametrize(
    "code",
    ["1", "110025133", "11002513301", "0110023001111", "01100230011a", " 011002300111", "011002300111 "],
)
def test_invoice_code_pattern(code: str) -> None:
    assert rejected(invoice_code=code) == ["invoice_code"]


@pytest.mark.parametrize("number", ["12345678", "00000001", "26112000000012345678"])
def test_invoice_number_accepts_8_or_20_digits(number: str) -> None:
    assert create(invoice_number=number).invoice_number == number


@pytest.mark.parametrize(
    "number",
    [
        "",
        "1234567",
        "123456789",
        "1234567890",
        "2611200000001234567",
        "261120000000123456789",
        "1234567a",
        None,
    ],
)
def test_invoice_number_pattern(number: object) -> None:
    assert rejected(invoice_number=number) == ["invoice_number"]


def test_invoice_number_is_required() -> None:
    assert rejected(invoice_number=_DROP) == ["invoice_number"]


@pytest.mark.parametrize("check_code", ["123456", "12345678901234567890", None])
def test_check_code_accepts_6_or_20_digits(check_code: str | None) -> None:
    assert create(check_code=check_code).check_code == check_code


@pytest.mark.parametrize("check_code", ["", "12345", "1234567", "1234567890123456789", "12345a", "12 456"])
def test_check_code_pattern(check_code: str) -> None:
    assert rejected(check_code=check_code) == ["check_code"]


@pytest.mark.parametrize(
    "field",
    [
        {"invoice_number": "１２３４５６７８"},
        {"invoice_number": "١٢٣٤٥٦٧٨"},
        {"invoice_code": "０１１００２３００１１１"},
        {"check_code": "１２３４５６"},
    ],
    ids=["fullwidth-number", "arabic-indic-number", "fullwidth-code", "fullwidth-check-code"],
)
def test_patterns_accept_only_ascii_digits(field: dict[str, str]) -> None:
    assert rejected(**field) == list(field)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.01", Decimal("0.01")),
        ("1130.00", Decimal("1130.00")),
        ("1130", Decimal("1130")),
        (1130, Decimal("1130")),
        (11.3, Decimal("11.3")),
        ("99999999999999.99", Decimal("99999999999999.99")),  # 16 digits
    ],
)
def test_amount_accepts_positive_cents(amount: object, expected: Decimal) -> None:
    body = {**DIGITAL, "issue_date": "2026-11-20", "amount": amount}
    assert CheckCreate.model_validate(body).amount == expected


@pytest.mark.parametrize(
    "amount", ["0", "0.00", "-1.00", "1.001", "100000000000000.00", "abc", "NaN", "Infinity"]
)
def test_amount_rejects_non_positive_over_precise_or_too_long(amount: str) -> None:
    assert rejected(amount=amount) == ["amount"]


@pytest.mark.parametrize(
    ("requester", "ok"),
    [
        ("911101056317066918", True),
        ("org-a_b.c:d", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("", False),
        ("has space", False),
        ("中文", False),
        ("a/b", False),
    ],
)
def test_requester_pattern(requester: str, ok: bool) -> None:
    if ok:
        assert create(requester=requester).requester == requester
    else:
        assert rejected(requester=requester) == ["requester"]


def test_defaults() -> None:
    body = create()
    assert (body.requester, body.request_id, body.amount) == ("anonymous", None, None)


def test_request_id_is_bounded() -> None:
    assert create(request_id="k" * 128).request_id == "k" * 128
    assert rejected(request_id="k" * 129) == ["request_id"]


@pytest.mark.parametrize("extra", [{"fplx": "10"}, {"invoice_type": "10"}, {"check_id": str(uuid.uuid4())}])
def test_extra_fields_are_forbidden(extra: dict[str, str]) -> None:
    assert rejected(**extra) == list(extra)


def test_the_documented_examples_are_valid() -> None:
    examples = CheckCreate.model_json_schema()["examples"]
    assert len(examples) == 2
    for example in examples:
        CheckCreate.model_validate(example)


def test_check_accepted() -> None:
    check_id = uuid.uuid4()
    accepted = CheckAccepted(check_id=check_id, location=f"/v1/checks/{check_id}")
    assert accepted.model_dump(mode="json") == {
        "check_id": str(check_id),
        "status": "pending",
        "location": f"/v1/checks/{check_id}",
    }


# --- CheckView --------------------------------------------------------------------------------------


INVOICE = issued()


def result_for(
    verdict_case: str, *, version: int = 1, follow_up: bool = False, check_count: int = 1
) -> CheckResult:
    entry: register.Entry | None
    overrides: dict[str, Any] = {}
    if verdict_case == "pending_sync":
        entry = None
        overrides["issue_date"] = date(2026, 11, 25)
    elif verdict_case == "inconsistent":
        entry = register.apply_issued(None, INVOICE)
        overrides.update(check_code="000000", issue_date=date(2026, 11, 19))
    else:
        entry = register.apply_issued(None, INVOICE)
        if verdict_case != "consistent":
            entry = register.apply_status(entry, status_change(INVOICE, InvoiceStatus(verdict_case)))
    request = check_of(INVOICE, requested_at=REQUESTED_AT, **overrides)
    decision = decide(request, entry, date(2026, 11, 25), now=REQUESTED_AT, sync_window=timedelta(hours=24))
    assert decision.verdict.value == verdict_case
    return build_result(
        request,
        decision,
        decided_at=REQUESTED_AT + timedelta(seconds=1),
        check_count=check_count,
        version=version,
        follow_up=follow_up,
    )


def test_view_of_a_pending_sync_result() -> None:
    result = result_for("pending_sync")
    view = CheckView.from_result(result)
    assert view.status == "pending_sync"
    assert view.verdict is Verdict.PENDING_SYNC
    assert (view.verdict_zh, view.verdict_en) == MESSAGES[Verdict.PENDING_SYNC]
    assert (view.invoice, view.invoice_status) == (None, None)
    assert view.check_id == result.check_id
    assert view.result_version == 1 and view.follow_up is False


def test_view_of_a_consistent_result() -> None:
    result = result_for("consistent", version=2, follow_up=True, check_count=4)
    view = CheckView.from_result(result)
    assert view.status == "done"
    assert view.verdict is Verdict.CONSISTENT
    assert view.invoice == result.invoice and view.invoice is not None
    assert view.invoice_status == "normal"
    assert view.mismatched_fields == []
    assert (view.check_count, view.result_version, view.follow_up) == (4, 2, True)
    assert (view.requested_at, view.decided_at) == (result.requested_at, result.decided_at)
    assert (view.message_zh, view.message_en) == (result.message_zh, result.message_en)


def test_view_of_an_inconsistent_result() -> None:
    view = CheckView.from_result(result_for("inconsistent"))
    assert view.status == "done"
    assert view.mismatched_fields == ["issue_date", "check_code"]
    assert (view.invoice, view.invoice_status) == (None, None)


@pytest.mark.parametrize("status", ["voided", "red_flushed_partial", "red_flushed_full", "abnormal"])
def test_view_of_a_status_result(status: str) -> None:
    view = CheckView.from_result(result_for(status))
    assert view.status == "done"
    assert view.verdict == status and view.invoice_status == status


@pytest.mark.parametrize("verdict", list(Verdict), ids=str)
def test_every_verdict_has_a_view(verdict: Verdict) -> None:
    request = check_of(INVOICE, requested_at=REQUESTED_AT)
    result = build_result(request, Decision(verdict), decided_at=REQUESTED_AT, check_count=0)
    view = CheckView.from_result(result)
    assert view.status == ("pending_sync" if verdict is Verdict.PENDING_SYNC else "done")
    assert (view.verdict_zh, view.verdict_en) == MESSAGES[verdict]
    assert CheckView.model_validate_json(view.model_dump_json()) == view


@pytest.mark.parametrize(
    "case", ["consistent", "inconsistent", "pending_sync", "voided", "red_flushed_full", "abnormal"]
)
def test_view_from_a_warehouse_row_matches_the_view_from_the_result(case: str) -> None:
    result = result_for(case, version=3, follow_up=True, check_count=2)
    row = dict(zip(COLUMNS, result_row(result), strict=True))
    from_row = CheckView.from_row(row)
    from_result = CheckView.from_result(result)
    # the warehouse keeps no invoice face, only its status
    assert from_row == from_result.model_copy(update={"invoice": None})
    assert from_row.follow_up is True and isinstance(from_row.follow_up, bool)


def test_view_from_a_row_without_a_face_has_no_invoice_status() -> None:
    row = dict(zip(COLUMNS, result_row(result_for("pending_sync")), strict=True))
    assert row["invoice_status"] == ""
    view = CheckView.from_row(row)
    assert view.invoice_status is None
    assert view.status == "pending_sync"


def test_pending_view() -> None:
    check_id = uuid.uuid4()
    view = CheckView(check_id=check_id, status="pending")
    assert view.verdict is None and view.mismatched_fields == [] and view.follow_up is False
