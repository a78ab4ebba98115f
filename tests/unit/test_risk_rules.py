"""Every risk rule fires on its pattern, stays quiet otherwise, and says why (evidence)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision, invoice_face
from fapiao.risk import rules as r
from fapiao.risk import seller_stats
from schemas.events import (
    CheckContext,
    CheckResult,
    InvoiceIssued,
    InvoiceStatus,
    RiskRules,
    SellerActivity,
    Verdict,
)
from tests.factories import BUYER, SELLER, check_of, issued

INV = issued()
AT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
_STATUS = {
    Verdict.VOIDED: InvoiceStatus.VOIDED,
    Verdict.RED_FLUSHED_FULL: InvoiceStatus.RED_FLUSHED_FULL,
    Verdict.RED_FLUSHED_PARTIAL: InvoiceStatus.RED_FLUSHED_PARTIAL,
    Verdict.CONSISTENT: InvoiceStatus.NORMAL,
}


def result_of(
    verdict: Verdict,
    *,
    invoice: InvoiceIssued = INV,
    requester: str = "A",
    follow_up: bool = False,
    fields: tuple[str, ...] = (),
    at: datetime = AT,
    **overrides: Any,
) -> CheckResult:
    request = check_of(invoice, requester=requester, requested_at=at, **overrides)
    face = invoice_face(invoice, _STATUS[verdict]) if verdict in _STATUS else None
    decision = Decision(verdict, mismatched_fields=fields, invoice=face)
    return build_result(request, decision, decided_at=at, check_count=1, follow_up=follow_up)


def context_of(**fields: Any) -> CheckContext:
    base: dict[str, Any] = {
        "prior_checks": 0,
        "prior_inconsistent": 0,
        "requesters": ("A",),
        "orgs": ("public",),
        "issued_at": INV.issued_at,
        "seller_tax_id": SELLER.tax_id,
        "buyer_tax_id": BUYER.tax_id,
    }
    return CheckContext(**{**base, **fields})


def seller_with(amounts: list[str], numbers: range = range(0)) -> dict[str, Any]:
    stats: dict[str, Any] | None = None
    at = INV.issued_at
    for i, amount in enumerate(amounts):
        num = f"{90_000_000 + i:08d}"
        stats = seller_stats.fold_activity(stats, _activity(num, amount, at))
    for n in numbers:
        stats = seller_stats.fold_activity(
            stats, _activity(f"{n:08d}", "113.00", at + timedelta(minutes=n % 100))
        )
    assert stats is not None
    return stats


def _activity(number: str, amount: str, at: datetime) -> SellerActivity:
    return SellerActivity(
        seller_tax_id=str(SELLER.tax_id),
        kind="issued",
        invoice_key=f"{INV.invoice_code}-{number}",
        invoice_number=number,
        buyer_tax_id=str(BUYER.tax_id),
        amount=Decimal(amount),
        issued_at=at,
        at=at,
    )


D = r.DEFAULT_RULES


def test_duplicate_reimbursement_fires_for_a_second_requester_shown_the_face() -> None:
    ctx = context_of(requesters=("A", "B"), consistent_requesters=("A", "B"), prior_checks=1)
    hit = r.duplicate_reimbursement(result_of(Verdict.CONSISTENT, requester="B"), ctx, None, D)
    assert hit is not None and hit.reason == "duplicate_reimbursement" and hit.points == 80
    assert hit.evidence["first_presented_to"] == "A" and hit.evidence["requesters"] == "A,B"
    assert hit.evidence["distinct_requesters"] == "2"


@pytest.mark.parametrize(
    ("verdict", "requester", "presented"),
    [
        (Verdict.CONSISTENT, "A", ("A",)),  # one requester, checked again
        (Verdict.CONSISTENT, "A", ("A", "B")),  # the first one shown it re-checks
        (Verdict.INCONSISTENT, "B", ("A",)),  # B was not shown the face
        (Verdict.NOT_FOUND, "B", ("A",)),
    ],
)
def test_duplicate_reimbursement_no_hit(verdict: Verdict, requester: str, presented: tuple[str, ...]) -> None:
    ctx = context_of(consistent_requesters=presented)
    assert r.duplicate_reimbursement(result_of(verdict, requester=requester), ctx, None, D) is None


def test_duplicate_is_not_raised_by_a_status_follow_up() -> None:
    ctx = context_of(consistent_requesters=("A", "B"), status_changed_at=AT + timedelta(days=1))
    result = result_of(Verdict.VOIDED, requester="B", follow_up=True)
    assert r.duplicate_reimbursement(result, ctx, None, D) is None


@pytest.mark.parametrize("verdict", [Verdict.VOIDED, Verdict.RED_FLUSHED_FULL, Verdict.RED_FLUSHED_PARTIAL])
def test_presented_after_void_hit(verdict: Verdict) -> None:
    changed = AT - timedelta(days=2)
    hit = r.presented_after_void(result_of(verdict), context_of(status_changed_at=changed), None, D)
    assert hit is not None and hit.points == 70
    assert hit.evidence == {
        "status": verdict.value,
        "status_changed_at": changed.isoformat(),
        "requested_at": AT.isoformat(),
    }


def test_presented_after_void_no_hit_for_normal_or_for_the_follow_up_of_an_earlier_check() -> None:
    assert r.presented_after_void(result_of(Verdict.CONSISTENT), context_of(), None, D) is None
    later = context_of(status_changed_at=AT + timedelta(hours=5))
    assert r.presented_after_void(result_of(Verdict.VOIDED, follow_up=True), later, None, D) is None


def test_repeated_mismatch_counts_this_check() -> None:
    result = result_of(Verdict.INCONSISTENT, fields=("amount",))
    hit = r.repeated_mismatch(result, context_of(prior_checks=2, prior_inconsistent=1), None, D)
    assert hit is not None and hit.points == 70
    assert hit.evidence["inconsistent_checks"] == "2" and hit.evidence["checks"] == "3"
    assert hit.evidence["fields"] == "amount"
    assert r.repeated_mismatch(result, context_of(), None, D) is None  # the first 不一致
    consistent = result_of(Verdict.CONSISTENT)
    assert r.repeated_mismatch(consistent, context_of(prior_inconsistent=3), None, D) is None


def test_single_mismatch_is_medium_and_gives_way_to_repeated() -> None:
    result = result_of(Verdict.INCONSISTENT, fields=("issue_date",))
    hit = r.mismatch(result, context_of(), None, D)
    assert hit is not None and hit.points == 45 and hit.evidence == {"fields": "issue_date"}
    assert r.mismatch(result, context_of(prior_inconsistent=1), None, D) is None
    assert r.mismatch(result_of(Verdict.CONSISTENT), context_of(), None, D) is None


def test_number_burst_hit_and_no_hit() -> None:
    invoice = issued(number="00000103")
    seller = seller_with([], numbers=range(100, 106))
    hit = r.number_burst(result_of(Verdict.CONSISTENT, invoice=invoice), context_of(), seller, D)
    assert hit is not None and hit.points == 50
    assert hit.evidence["run"] == "6" and hit.evidence["buyer_tax_id"] == BUYER.tax_id
    short = seller_with([], numbers=range(100, 104))
    assert r.number_burst(result_of(Verdict.CONSISTENT, invoice=invoice), context_of(), short, D) is None
    assert r.number_burst(result_of(Verdict.CONSISTENT, invoice=invoice), context_of(), None, D) is None


def test_the_features_burst_run_gives_the_rules_hits_without_a_second_burst_length() -> None:
    """The risk agent passes the features' number_burst as the rule's run (windows equal, 3 days)."""
    from fapiao.risk import features as f

    assert r.param(D, "burst_days") == f.BURST_DAYS
    invoice = issued(number="00000103")
    slot = f.FEATURE_NAMES.index("number_burst")
    for seller in (seller_with([], numbers=range(100, 106)), seller_with([], numbers=range(100, 104)), None):
        result, context = result_of(Verdict.CONSISTENT, invoice=invoice), context_of()
        run = int(f.features(result, context, seller)[slot])
        assert r.evaluate_rules(result, context, seller, D, burst_run=run) == r.evaluate_rules(
            result, context, seller, D
        )
    hits = r.evaluate_rules(
        result_of(Verdict.CONSISTENT, invoice=invoice), context_of(), None, D, burst_run=9
    )
    assert "number_burst" not in {h.reason for h in hits}  # no seller: no burst, whatever the run
    short = seller_with([], numbers=range(100, 104))
    given = r.evaluate_rules(
        result_of(Verdict.CONSISTENT, invoice=invoice), context_of(), short, D, burst_run=6
    )
    assert [h.evidence["run"] for h in given if h.reason == "number_burst"] == ["6"]  # the run given is used


def test_amount_outlier_hit_and_no_hit() -> None:
    seller = seller_with(["100.00", "120.00", "90.00", "110.00", "105.00"] * 3)
    big = issued(amount="90000.00", tax="11700.00")
    hit = r.amount_outlier(result_of(Verdict.CONSISTENT, invoice=big), context_of(), seller, D)
    assert hit is not None and hit.points == 40
    assert hit.evidence["total"] == "101700.00" and float(hit.evidence["z"]) > 4
    assert hit.evidence["seller_invoices"] == "15"
    assert r.amount_outlier(result_of(Verdict.CONSISTENT), context_of(), seller, D) is None
    few = seller_with(["100.00"] * 5)
    assert r.amount_outlier(result_of(Verdict.CONSISTENT, invoice=big), context_of(), few, D) is None


def test_not_found_hit_for_a_well_formed_code_and_digital_number() -> None:
    hit = r.not_found(result_of(Verdict.NOT_FOUND), context_of(), None, D)
    assert hit is not None and hit.points == 55
    assert hit.evidence["region"] == "北京" and hit.evidence["fplx"] == "10"
    digital = issued(fplx="32", code="", number="26112000000000000041", issue_date=AT.date())
    hit = r.not_found(result_of(Verdict.NOT_FOUND, invoice=digital), context_of(), None, D)
    assert hit is not None and hit.evidence["region"] == "北京" and hit.evidence["fplx"] == ""
    assert r.not_found(result_of(Verdict.PENDING_SYNC), context_of(), None, D) is None
    assert r.not_found(result_of(Verdict.CONSISTENT), context_of(), None, D) is None


def test_weights_and_params_fall_back_to_defaults_and_zero_disables() -> None:
    custom = RiskRules(version=7, weights={"mismatch": 65}, params={"mismatch_min": 3})
    assert r.weight(custom, "mismatch") == 65 and r.weight(custom, "not_found") == 55
    assert r.param(custom, "amount_z") == 4 and r.param(custom, "mismatch_min") == 3
    result = result_of(Verdict.INCONSISTENT)
    hit = r.mismatch(result, context_of(prior_inconsistent=1), None, custom)  # 2 < 3: still single
    assert hit is not None and hit.points == 65
    off = RiskRules(version=8, weights={"not_found": 0})
    assert r.not_found(result_of(Verdict.NOT_FOUND), context_of(), None, off) is None


def test_evaluate_rules_collects_every_hit() -> None:
    ctx = context_of(
        prior_checks=2, prior_inconsistent=2, requesters=("A", "B"), consistent_requesters=("B", "A")
    )
    hits = r.evaluate_rules(result_of(Verdict.VOIDED, requester="A"), ctx, None, D)
    assert [h.reason for h in hits] == ["duplicate_reimbursement", "presented_after_void"]
    assert r.evaluate_rules(result_of(Verdict.CONSISTENT), context_of(), None, D) == []
