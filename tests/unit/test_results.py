"""Results: `build_result` (the `checks.results` event), `result_id`, and the warehouse row."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fapiao.crypto.protect import FieldSealer
from fapiao.crypto.sm4 import Sm4Keyring
from fapiao.domain import register
from fapiao.domain.results import build_result, result_id
from fapiao.domain.verification import MESSAGES, Decision, decide
from fapiao.warehouse.results import COLUMNS, result_row
from schemas.events import CheckRequested, CheckResult, InvoiceStatus, Party, Verdict
from tests.factories import BUYER, SELLER, check_of, issued, status_change

SHANGHAI = timezone(timedelta(hours=8))
REQUESTED_AT = datetime(2026, 11, 25, 7, 30, tzinfo=SHANGHAI)  # 2026-11-24 23:30 UTC
DECIDED_AT = datetime(2026, 11, 25, 7, 30, 1, tzinfo=SHANGHAI)
TODAY = date(2026, 11, 25)
INVOICE = issued()
DIGITAL = issued(fplx="32", code="", number="26322000000000000004")
# the organisation a check belongs to (when the schema carries one: multi-tenancy is being added)
HAS_ORG = "org_id" in CheckRequested.model_fields
ORG: dict[str, Any] = {"org_id": "acme-corp"} if HAS_ORG else {}


def decision_for(request: CheckRequested, entry: register.Entry | None) -> Decision:
    return decide(request, entry, TODAY, now=REQUESTED_AT, sync_window=timedelta(hours=24))


def consistent() -> tuple[CheckRequested, Decision]:
    request = check_of(INVOICE, requested_at=REQUESTED_AT, channel="batch", batch_id=uuid.uuid4(), **ORG)
    return request, decision_for(request, register.apply_issued(None, INVOICE))


def inconsistent() -> tuple[CheckRequested, Decision]:
    request = check_of(INVOICE, requested_at=REQUESTED_AT, check_code="000000")
    return request, decision_for(request, register.apply_issued(None, INVOICE))


# --- result_id ---------------------------------------------------------------------------------------


def test_result_id_is_deterministic_per_check_and_version() -> None:
    check_id = uuid.UUID("2b1f8a7e-0000-4000-8000-000000000001")
    assert result_id(check_id, 1) == result_id(check_id, 1)
    assert result_id(check_id, 1) == uuid.uuid5(check_id, "result-1")
    assert result_id(check_id, 1).version == 5
    assert result_id(check_id, 1) != check_id


@given(
    check_id=st.uuids(), versions=st.sets(st.integers(min_value=1, max_value=10**6), min_size=2, max_size=5)
)
def test_result_ids_differ_across_versions(check_id: uuid.UUID, versions: set[int]) -> None:
    ids = {result_id(check_id, v) for v in versions}
    assert len(ids) == len(versions)


@given(a=st.uuids(), b=st.uuids(), version=st.integers(min_value=1, max_value=100))
def test_result_ids_differ_across_checks(a: uuid.UUID, b: uuid.UUID, version: int) -> None:
    assert (result_id(a, version) == result_id(b, version)) is (a == b)


# --- build_result ----------------------------------------------------------------------------------


def test_build_result_of_a_consistent_check() -> None:
    request, decision = consistent()
    result = build_result(request, decision, decided_at=DECIDED_AT, check_count=3)
    assert result == CheckResult(
        **ORG,
        result_id=result_id(request.check_id, 1),
        check_id=request.check_id,
        result_version=1,
        requested_at=REQUESTED_AT,
        decided_at=DECIDED_AT,
        requester=request.requester,
        channel="batch",
        batch_id=request.batch_id,
        invoice_key="011002300111-12345678",
        fplx="10",
        invoice_code="011002300111",
        invoice_number="12345678",
        issue_date=INVOICE.issue_date,
        verdict=Verdict.CONSISTENT,
        message_zh=MESSAGES[Verdict.CONSISTENT][0],
        message_en=MESSAGES[Verdict.CONSISTENT][1],
        mismatched_fields=(),
        check_count=3,
        invoice=decision.invoice,
        follow_up=False,
    )
    assert result.invoice is not None and result.invoice.seller == SELLER


def test_build_result_of_an_inconsistent_check() -> None:
    request, decision = inconsistent()
    result = build_result(request, decision, decided_at=DECIDED_AT, check_count=1)
    assert result.verdict is Verdict.INCONSISTENT
    assert result.mismatched_fields == ("check_code",)
    assert result.invoice is None
    assert (result.channel, result.batch_id) == ("api", None)


def test_build_result_of_a_follow_up_version() -> None:
    request, decision = consistent()
    result = build_result(request, decision, decided_at=DECIDED_AT, check_count=2, version=4, follow_up=True)
    assert result.result_version == 4
    assert result.result_id == result_id(request.check_id, 4)
    assert result.follow_up is True
    assert result.check_count == 2


def test_build_result_carries_the_decision_details_in_both_languages() -> None:
    request = check_of(INVOICE, requested_at=REQUESTED_AT, issue_date=TODAY + timedelta(days=2))
    decision = decision_for(request, None)
    result = build_result(request, decision, decided_at=DECIDED_AT, check_count=0)
    assert result.verdict is Verdict.INVALID
    assert result.message_zh == decision.message_zh and result.message_zh.startswith(
        MESSAGES[Verdict.INVALID][0]
    )
    assert result.message_en == decision.message_en and "issue date" in result.message_en
    assert result.mismatched_fields == ("issue_date",)


def test_build_result_of_a_digital_invoice_is_keyed_by_its_number() -> None:
    request = check_of(DIGITAL, requested_at=REQUESTED_AT)
    decision = decision_for(request, register.apply_issued(None, DIGITAL))
    result = build_result(request, decision, decided_at=DECIDED_AT, check_count=1)
    assert result.invoice_key == DIGITAL.invoice_number
    assert (result.invoice_code, result.fplx) == ("", "32")


def test_a_redelivered_request_gets_the_same_result() -> None:
    request, decision = consistent()
    first = build_result(request, decision, decided_at=DECIDED_AT, check_count=1)
    again = build_result(request, decision, decided_at=DECIDED_AT, check_count=1)
    assert first == again and first.result_id == again.result_id


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (InvoiceStatus.VOIDED, Verdict.VOIDED),
        (InvoiceStatus.RED_FLUSHED_PARTIAL, Verdict.RED_FLUSHED_PARTIAL),
        (InvoiceStatus.RED_FLUSHED_FULL, Verdict.RED_FLUSHED_FULL),
        (InvoiceStatus.ABNORMAL, Verdict.ABNORMAL),
    ],
    ids=str,
)
def test_build_result_with_a_status_verdict_carries_the_face(status: InvoiceStatus, verdict: Verdict) -> None:
    request = check_of(INVOICE, requested_at=REQUESTED_AT)
    entry = register.apply_status(register.apply_issued(None, INVOICE), status_change(INVOICE, status))
    result = build_result(request, decision_for(request, entry), decided_at=DECIDED_AT, check_count=1)
    assert result.verdict is verdict
    assert result.invoice is not None and result.invoice.status is status
    assert result.fplx == "10"


def test_the_result_survives_the_wire() -> None:
    request, decision = consistent()
    result = build_result(request, decision, decided_at=DECIDED_AT, check_count=1)
    assert CheckResult.model_validate_json(result.model_dump_json()) == result


# --- the warehouse row --------------------------------------------------------------------------------


def row_of(result: CheckResult) -> dict[str, Any]:
    row = result_row(result)
    assert len(row) == len(COLUMNS)
    return dict(zip(COLUMNS, row, strict=True))


def test_columns_are_unique_and_cover_the_result() -> None:
    assert len(set(COLUMNS)) == len(COLUMNS)
    flat_fields = {
        "check_id", "result_version", "result_id", "requested_at", "decided_at", "requester", "channel",
        "batch_id", "invoice_key", "fplx", "invoice_code", "invoice_number", "issue_date", "verdict",
        "mismatched_fields", "check_count", "follow_up", "message_zh", "message_en",
    }  # fmt: skip
    assert flat_fields <= set(CheckResult.model_fields)
    assert flat_fields <= set(COLUMNS)
    face_columns = {"invoice_status", "seller_tax_id", "seller_name", "buyer_tax_id", "buyer_name"}
    assert face_columns | {"requested_date", "amount", "tax", "total"} <= set(COLUMNS)


def test_the_row_of_a_consistent_result() -> None:
    request, decision = consistent()
    result = build_result(request, decision, decided_at=DECIDED_AT, check_count=3, version=2, follow_up=True)
    row = row_of(result)
    expected: dict[str, Any] = {
        "check_id": request.check_id,
        "result_version": 2,
        "result_id": result_id(request.check_id, 2),
        "requested_at": datetime(2026, 11, 24, 23, 30, tzinfo=UTC),
        "requested_date": date(2026, 11, 24),  # the request's UTC date, not its Shanghai date
        "decided_at": datetime(2026, 11, 24, 23, 30, 1, tzinfo=UTC),
        "requester": request.requester,
        "channel": "batch",
        "batch_id": str(request.batch_id),
        "invoice_key": "011002300111-12345678",
        "fplx": "10",
        "invoice_code": "011002300111",
        "invoice_number": "12345678",
        "issue_date": INVOICE.issue_date,
        "verdict": "consistent",
        "mismatched_fields": [],
        "check_count": 3,
        "follow_up": 1,
        "invoice_status": "normal",
        "seller_tax_id": SELLER.tax_id,
        "seller_name": SELLER.name,
        "buyer_tax_id": BUYER.tax_id,
        "buyer_name": BUYER.name,
        "amount": Decimal("100.00"),
        "tax": Decimal("13.00"),
        "total": Decimal("113.00"),
        "message_zh": MESSAGES[Verdict.CONSISTENT][0],
        "message_en": MESSAGES[Verdict.CONSISTENT][1],
        # not enriched or scored yet: empty names, no risk, -1 for "no model score"
        "region_name": "",
        "type_name": "",
        "seller_division": "",
        "buyer_division": "",
        "risk_score": 0,
        "risk_severity": "",
        "risk_reasons": [],
        "risk_model_score": -1.0,
        "risk_features": [],
        "risk_model_version": "",
        "rule_version": 0,
        # an unsealed result (field encryption off): no pseudonyms, no envelopes
        **{f"{who}_{part}": "" for who in ("seller", "buyer", "requester") for part in ("ref", "sealed")},
        **ORG,
    }
    assert {column: row[column] for column in expected} == expected
    # columns the schema grows meanwhile (batch_row, …) each come from the event field of that name
    assert set(row) - set(expected) <= set(CheckResult.model_fields)
    assert row["requested_at"].utcoffset() == timedelta(0)
    assert row["decided_at"].utcoffset() == timedelta(0)


def test_the_row_of_a_sealed_result_holds_pseudonyms_and_envelopes_only() -> None:
    sealer = FieldSealer(Sm4Keyring({"k1": bytes(16)}, "k1"), b"k" * 32)
    request, decision = consistent()
    sealed = sealer.seal_result(build_result(request, decision, decided_at=DECIDED_AT, check_count=1))
    row = row_of(sealed)
    for column in ("seller_tax_id", "seller_name", "buyer_tax_id", "buyer_name", "requester"):
        assert row[column] == "", column
    assert row["seller_ref"] == sealer.tax_ref(SELLER.tax_id) and row["buyer_ref"] == sealer.tax_ref(
        BUYER.tax_id
    )
    assert row["requester_ref"] == sealer.requester_ref(request.requester)
    assert sealer.open_party_fields(row["seller_sealed"], "seller", row["seller_ref"])["name"] == SELLER.name
    assert sealer.open_requester(row["requester_sealed"], row["requester_ref"]) == request.requester
    text = repr(row)
    assert SELLER.name not in text and str(SELLER.tax_id) not in text and str(BUYER.tax_id) not in text


def test_the_row_without_a_face_has_zero_amounts_and_empty_parties() -> None:
    request, decision = inconsistent()
    row = row_of(build_result(request, decision, decided_at=DECIDED_AT, check_count=1))
    assert row["verdict"] == "inconsistent"
    assert row["mismatched_fields"] == ["check_code"]
    assert row["batch_id"] == ""
    assert row["follow_up"] == 0
    assert (row["invoice_status"], row["seller_tax_id"], row["seller_name"]) == ("", "", "")
    assert (row["buyer_tax_id"], row["buyer_name"]) == ("", "")
    for column in ("amount", "tax", "total"):
        assert row[column] == Decimal("0.00") and isinstance(row[column], Decimal)


def test_a_buyer_without_a_tax_id_is_an_empty_string() -> None:
    request, decision = consistent()
    assert decision.invoice is not None
    individual = decision.invoice.model_copy(update={"buyer": Party(name="张三")})
    result = build_result(
        request, Decision(Verdict.CONSISTENT, invoice=individual), decided_at=DECIDED_AT, check_count=1
    )
    row = row_of(result)
    assert (row["buyer_tax_id"], row["buyer_name"]) == ("", "张三")


@pytest.mark.parametrize(
    ("requested_at", "utc_date"),
    [
        (datetime(2026, 11, 25, 0, 30, tzinfo=SHANGHAI), date(2026, 11, 24)),
        (datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI), date(2026, 11, 25)),
        (datetime(2026, 11, 25, 23, 59, tzinfo=UTC), date(2026, 11, 25)),
        (datetime(2026, 11, 25, 20, 0, tzinfo=timezone(timedelta(hours=-5))), date(2026, 11, 26)),
    ],
)
def test_the_row_is_in_utc(requested_at: datetime, utc_date: date) -> None:
    request = check_of(INVOICE, requested_at=requested_at)
    decision = Decision(Verdict.NOT_FOUND)
    row = row_of(build_result(request, decision, decided_at=requested_at, check_count=1))
    assert row["requested_at"] == requested_at and row["requested_at"].tzinfo is UTC
    assert row["decided_at"].tzinfo is UTC
    assert row["requested_date"] == utc_date


def test_every_version_of_a_check_shares_the_row_date() -> None:
    request, decision = consistent()
    dates = {
        row_of(
            build_result(
                request, decision, decided_at=DECIDED_AT + timedelta(days=v), check_count=1, version=v
            )
        )["requested_date"]
        for v in (1, 2, 3)
    }
    assert dates == {date(2026, 11, 24)}
