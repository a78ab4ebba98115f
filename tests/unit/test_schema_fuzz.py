"""A fuzzer over the event schemas: every schema-valid invoice and check request (generated from the
published JSON schemas, extremes included) goes through the worker's pure steps — register fold,
decide, count, result, check context, risk features, rules and score, sealing, the ClickHouse row —
without raising. An input that raised here would be a poison pill in the worker (dead-lettered by the
error policy, but a check a user never gets answered): the schema must refuse it instead."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fapiao.crypto.keys import CryptoKeys
from fapiao.crypto.protect import ResultFinisher
from fapiao.domain import register
from fapiao.domain.check_context import check_context
from fapiao.domain.invoice_types import INVOICE_TYPES
from fapiao.domain.results import build_result
from fapiao.domain.verification import decide
from fapiao.risk.features import features
from fapiao.risk.rules import DEFAULT_RULES, evaluate_rules
from fapiao.risk.scoring import assess
from fapiao.settings import Settings
from fapiao.warehouse.results import result_row
from schemas.events import CheckRequested, InvoiceIssued
from tests.factories import issued
from tests.schema_strategies import from_schema

TZ = ZoneInfo("Asia/Shanghai")
FINISHER = ResultFinisher.from_keys(
    CryptoKeys.from_settings(Settings(secret_key="fuzz-" + "x" * 40)),
    encrypt=True,  # type: ignore[arg-type]
)


def _events(model: type[InvoiceIssued] | type[CheckRequested]) -> st.SearchStrategy:
    schema = model.model_json_schema()

    def valid(payload: dict[str, object]) -> object:
        try:
            return model.model_validate_json(json.dumps(payload))
        except ValidationError:
            return None

    return from_schema(schema).map(valid).filter(lambda e: e is not None)


def _through_the_pipeline(issued: InvoiceIssued | None, request: CheckRequested) -> None:
    entry = register.apply_issued(None, issued) if issued is not None else None
    now = datetime.now(UTC)
    today = request.requested_at.astimezone(TZ).date()
    decision = decide(request, entry, today, now=now, sync_window=timedelta(hours=24))
    counted = register.count_check(entry, today) if decision.counted else entry
    number = int((counted or {}).get("checks_total", 0))
    result = build_result(request, decision, decided_at=now, check_count=number)
    context = check_context(entry, request, decision.verdict)
    feats = features(result, context, None)
    hits = evaluate_rules(result, context, None, DEFAULT_RULES)
    assessment = assess(hits, 0.5, DEFAULT_RULES, model_version="m", features=feats)
    sealed = FINISHER.seal(result.model_copy(update={"risk": assessment}))
    result_row(sealed)
    json.loads(sealed.model_dump_json())


FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@FUZZ
@given(request=_events(CheckRequested))
def test_any_valid_check_of_an_unknown_invoice_is_answered(request: CheckRequested) -> None:
    _through_the_pipeline(None, request)


def _invoices() -> st.SearchStrategy[InvoiceIssued]:
    """Issued invoices of every type with extreme amounts, dates, codes and names (the generic schema
    strategy rarely satisfies an invoice's cross-field rules: totals, parties, lines)."""
    money = st.one_of(
        st.sampled_from(["0.00", "0.01", "99999999999999.99"]),
        st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False).map(str),
    )
    names = st.one_of(
        st.sampled_from(['=HYPERLINK("x")', "北" * 200, "a"]), st.text(min_size=1, max_size=200)
    )

    def build(
        fplx: str, digital: bool, number: str, day: date, amount: str, tax: str, seller: str, buyer: str
    ) -> InvoiceIssued | None:
        try:
            inv = issued(
                fplx=fplx,
                code="" if digital else "011002300111",
                number=number,
                issue_date=day,
                amount=amount,
                tax=tax,
            )
            return inv.model_copy(
                update={
                    "seller": inv.seller.model_copy(update={"name": seller}),
                    "buyer": inv.buyer.model_copy(update={"name": buyer}),
                }
            )
        except ValidationError:
            return None

    return st.builds(
        build,
        st.sampled_from(sorted(INVOICE_TYPES)),
        st.booleans(),
        st.one_of(
            st.from_regex(r"^[0-9]{8}$", fullmatch=True), st.from_regex(r"^[0-9]{20}$", fullmatch=True)
        ),
        st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
        money,
        money,
        names,
        names,
    ).filter(lambda inv: inv is not None)


@FUZZ
@given(issued=_invoices(), request=_events(CheckRequested))
def test_any_valid_check_of_any_valid_invoice_is_answered(
    issued: InvoiceIssued, request: CheckRequested
) -> None:
    same = request.model_copy(
        update={
            "invoice_code": issued.invoice_code,
            "invoice_number": issued.invoice_number,
            "issue_date": issued.issue_date,
        }
    )
    _through_the_pipeline(issued, same)


@pytest.mark.parametrize(
    "changes",
    [
        {"requested_at": "9999-12-31T23:59:59+00:00"},  # once an OverflowError in the verify agent
        {"requested_at": "1969-07-20T20:17:00+00:00"},  # before DateTime's range
        {"issue_date": "0001-01-01"},  # stored as 0000-00-00
        {"batch_row": 2**40, "batch_id": "7b0e8e50-5a2e-4a56-9d0d-0b5a6a3c9b11"},  # beyond UInt32
    ],
)
def test_the_known_poison_pills_are_refused_by_the_schema(changes: dict[str, object]) -> None:
    payload = {
        "check_id": "3f1c2b1e-0a7d-4e52-8c3b-6c1d2b3a4f5e",
        "requested_at": "2026-12-07T03:00:00+00:00",
        "requester": "911101056317066918",
        "invoice_code": "011002300111",
        "invoice_number": "12345678",
        "issue_date": "2026-11-20",
        "check_code": "567890",
    } | changes
    with pytest.raises(ValidationError):
        CheckRequested.model_validate(payload)
