from __future__ import annotations

from datetime import UTC, datetime

from fapiao.domain import register
from fapiao.domain.check_context import check_context
from fapiao.domain.seller_activity import seller_activity
from schemas.events import InvoiceStatus, Verdict
from tests.factories import SELLER, check_of, issued, status_change


def _remember(entry, request, verdict: Verdict):  # type: ignore[no-untyped-def]
    return register.remember_check(
        entry,
        {
            "check_id": str(request.check_id),
            "requester": request.requester,
            "number": 1,
            "version": 1,
            "verdict": verdict.value,
            "request": request.model_dump(mode="json"),
        },
    )


def test_context_counts_earlier_checks_and_distinct_requesters() -> None:
    inv = issued()
    entry = register.apply_issued(None, inv)
    a = check_of(inv, requester="A", org_id="org-a")
    b = check_of(inv, requester="B", org_id="org-b", check_code="000000")
    entry = _remember(_remember(entry, a, Verdict.CONSISTENT), b, Verdict.INCONSISTENT)
    c = check_of(inv, requester="C", org_id="org-a")
    ctx = check_context(entry, c, Verdict.CONSISTENT)
    assert ctx.prior_checks == 2 and ctx.prior_inconsistent == 1
    # org-b's requester is never named to org-a: it counts as one other organisation
    assert ctx.requesters == ("A", "other-org-1", "C") and ctx.orgs == ("org-a", "org-b")
    assert ctx.consistent_requesters == ("A", "C")
    assert ctx.seller_tax_id == SELLER.tax_id and ctx.issued_at == inv.issued_at


def test_a_first_check_is_its_only_requester_and_organisation() -> None:
    """The first check's context (a shortcut of check_context): this requester and organisation, shown
    the face on 一致 or a status verdict only; the register's issuance and status change."""
    inv = issued()
    changed_at = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
    voided = register.apply_status(
        register.apply_issued(None, inv), status_change(inv, InvoiceStatus.VOIDED, changed_at)
    )
    request = check_of(inv, requester="A", org_id="org-a")
    for verdict, shown in ((Verdict.VOIDED, ("A",)), (Verdict.INCONSISTENT, ())):
        ctx = check_context(voided, request, verdict)
        assert (ctx.prior_checks, ctx.prior_inconsistent, ctx.first_checked_at) == (0, 0, None)
        assert ctx.requesters == ("A",) and ctx.orgs == ("org-a",) and ctx.consistent_requesters == shown
        assert ctx.issued_at == inv.issued_at and ctx.status_changed_at == changed_at
        assert ctx.seller_tax_id == SELLER.tax_id
    # the check itself remembered (a redelivery) is not an earlier check
    again = _remember(voided, request, Verdict.VOIDED)
    assert check_context(again, request, Verdict.VOIDED) == check_context(voided, request, Verdict.VOIDED)


def test_context_of_a_recheck_excludes_the_check_itself() -> None:
    inv = issued()
    a = check_of(inv, requester="A")
    entry = _remember(register.apply_issued(None, inv), a, Verdict.CONSISTENT)
    ctx = check_context(entry, a, Verdict.VOIDED)
    assert ctx.prior_checks == 0 and ctx.requesters == ("A",) and ctx.consistent_requesters == ("A",)


def test_context_without_an_invoice_has_no_seller() -> None:
    ctx = check_context(None, check_of(issued()), Verdict.NOT_FOUND)
    assert ctx.seller_tax_id == "" and ctx.consistent_requesters == () and ctx.issued_at is None


def test_seller_activity_after_issuance_and_void() -> None:
    inv = issued()
    entry = register.apply_issued(None, inv)
    act = seller_activity(entry, issued=True)
    assert act is not None and act.kind == "issued" and act.amount == inv.total and act.at == inv.issued_at
    changed_at = datetime(2026, 11, 22, tzinfo=UTC)
    entry = register.apply_status(entry, status_change(inv, InvoiceStatus.VOIDED, changed_at))
    act = seller_activity(entry, issued=False)
    assert act is not None and act.kind == "voided" and act.at == changed_at


def test_no_seller_activity_without_invoice_or_for_a_restore() -> None:
    inv = issued()
    assert (
        seller_activity(register.apply_status(None, status_change(inv, InvoiceStatus.VOIDED)), issued=False)
        is None
    )
    entry = register.apply_status(register.apply_issued(None, inv), status_change(inv, InvoiceStatus.NORMAL))
    assert seller_activity(entry, issued=False) is None


def test_requesters_are_in_order_of_first_request_whatever_the_offsets() -> None:
    inv = issued()
    later = check_of(inv, requester="LATER", requested_at=datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    earlier_cst = check_of(
        inv, requester="EARLIER", requested_at=datetime.fromisoformat("2026-11-25T10:30:00+08:00")
    )  # 02:30 UTC
    entry = _remember(
        _remember(register.apply_issued(None, inv), later, Verdict.CONSISTENT),
        earlier_cst,
        Verdict.CONSISTENT,
    )
    ctx = check_context(entry, check_of(inv, requester="NOW"), Verdict.CONSISTENT)
    assert ctx.requesters == ("EARLIER", "LATER", "NOW")
    assert ctx.consistent_requesters == ("EARLIER", "LATER", "NOW")


def test_other_organisations_requesters_never_reach_the_duplicate_evidence() -> None:
    """Issue 16 item 3: org B's duplicate-reimbursement alert listed org A's requester names."""
    from fapiao.domain.results import build_result
    from fapiao.domain.verification import Decision, invoice_face
    from fapiao.risk.rules import DEFAULT_RULES, duplicate_reimbursement

    inv = issued()
    entry = register.apply_issued(None, inv)
    for requester, org in (("alice.secret-A", "org-a"), ("carol.secret-A", "org-a"), ("dave-C", "org-c")):
        entry = _remember(entry, check_of(inv, requester=requester, org_id=org), Verdict.CONSISTENT)
    bob = check_of(inv, requester="bob-B", org_id="org-b")
    ctx = check_context(entry, bob, Verdict.CONSISTENT)
    decision = Decision(Verdict.CONSISTENT, invoice=invoice_face(inv, InvoiceStatus.NORMAL))
    result = build_result(bob, decision, decided_at=bob.requested_at, check_count=4, follow_up=False)
    hit = duplicate_reimbursement(result, ctx, None, DEFAULT_RULES)
    assert hit is not None
    text = repr(ctx) + repr(hit.evidence)
    assert "secret" not in text and "dave" not in text and "org-a" not in repr(hit.evidence)
    assert hit.evidence["requesters"] == "other-org-1,other-org-2,bob-B"
    assert hit.evidence["first_presented_to"] == "other-org-1" and hit.evidence["distinct_orgs"] == "3"
