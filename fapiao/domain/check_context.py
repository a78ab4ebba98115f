"""The check context of an invoice (who checked it, how often, how it went) for risk scoring."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fapiao.domain import register
from schemas.events import CheckContext, CheckRequested, Verdict

OTHER_ORG = "other-org-"  # how the requesters of another organisation appear in a context

# verdicts under which the requester was shown the invoice face (a reimbursement could go ahead)
_FACE_SHOWN = {
    Verdict.CONSISTENT.value,
    Verdict.VOIDED.value,
    Verdict.RED_FLUSHED_PARTIAL.value,
    Verdict.RED_FLUSHED_FULL.value,
    Verdict.ABNORMAL.value,
}


def check_context(entry: register.Entry | None, request: CheckRequested, verdict: Verdict) -> CheckContext:
    """The context of `request` given the register entry *before* this check was remembered.

    The context is the source of the risk evidence that the requesting organisation reads (alerts,
    results), so it names only that organisation's own requesters; an invoice presented elsewhere shows
    as `other-org-<n>` (how many other organisations, never who)."""
    this = str(request.check_id)
    earlier: list[dict[str, Any]] = [c for c in (entry or {}).get("checks", ()) if c["check_id"] != this]
    if earlier:
        earlier.sort(key=lambda c: datetime.fromisoformat(str(c["request"]["requested_at"])))
        requesters, orgs, shown = _parties(earlier, request, verdict)
    else:  # the invoice's first check (most are): nothing to order, count or name
        requesters, orgs = (request.requester,), (request.org_id,)
        shown = (request.requester,) if verdict.value in _FACE_SHOWN else ()
    invoice = register.issued_invoice(entry)
    first = min((c["request"]["requested_at"] for c in earlier), default=None)
    changed = (entry or {}).get("status_changed_at")
    return CheckContext(
        prior_checks=len(earlier),
        prior_inconsistent=sum(c["verdict"] == Verdict.INCONSISTENT.value for c in earlier),
        requesters=requesters,
        orgs=orgs,
        consistent_requesters=shown,
        first_checked_at=datetime.fromisoformat(first) if first else None,
        issued_at=invoice.issued_at if invoice else None,
        status_changed_at=datetime.fromisoformat(changed) if changed else None,
        seller_tax_id=(invoice.seller.tax_id or "") if invoice else "",
        buyer_tax_id=(invoice.buyer.tax_id or "") if invoice else "",
    )


def _parties(
    earlier: list[dict[str, Any]], request: CheckRequested, verdict: Verdict
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(requesters, organisations, requesters shown the face) over the earlier checks and this one."""
    orgs = _distinct([_org(c) for c in earlier] + [request.org_id])
    # the requesters of other organisations are never named to this one (issue 16): each other
    # organisation counts as one requester, labelled by its position only ("other-org-1", …)
    seen_as = {org: f"{OTHER_ORG}{n}" for n, org in enumerate((o for o in orgs if o != request.org_id), 1)}

    def who(check: dict[str, Any]) -> str:
        org = _org(check)
        return str(check["requester"]) if org == request.org_id else seen_as[org]

    requesters = _distinct([who(c) for c in earlier] + [request.requester])
    shown = [who(c) for c in earlier if c["verdict"] in _FACE_SHOWN]
    if verdict.value in _FACE_SHOWN:
        shown.append(request.requester)
    return tuple(requesters), tuple(orgs), tuple(_distinct(shown))


def _org(check: dict[str, Any]) -> str:
    return str(check["request"].get("org_id", "public"))


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
