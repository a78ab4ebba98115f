"""Risk rules: small pure functions, each returning a reason code with points and evidence, or None.

Points and parameters come from a `RiskRules` value (published by analysts on `risk.rules`); a weight or
parameter it leaves out falls back to `DEFAULT_RULES`, and a weight of 0 turns a rule off. Evidence
values are strings, so they travel unchanged to alerts and ClickHouse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import Any

from fapiao.domain.invoice_codes import parse_invoice_code
from fapiao.domain.invoice_numbers import parse_digital_number
from fapiao.risk import seller_stats
from schemas.events import CheckContext, CheckResult, RiskRules, Verdict

_CST = timezone(timedelta(hours=8), "Asia/Shanghai")
# Verdicts that show the requester the invoice face: a reimbursement could go ahead on them.
PRESENTED_VERDICTS = frozenset(
    {
        Verdict.CONSISTENT,
        Verdict.VOIDED,
        Verdict.RED_FLUSHED_PARTIAL,
        Verdict.RED_FLUSHED_FULL,
        Verdict.ABNORMAL,
    }
)


@dataclass(frozen=True)
class RuleHit:
    reason: str
    points: int
    evidence: dict[str, str] = field(default_factory=dict)


DEFAULT_RULES = RiskRules(
    version=1,
    alert_threshold=60,
    alert_window_seconds=24 * 3600,
    model_weight=0.3,
    weights={
        "duplicate_reimbursement": 80,
        "presented_after_void": 70,
        "repeated_mismatch": 70,
        "not_found": 55,
        "number_burst": 50,
        "amount_outlier": 40,
        "mismatch": 45,
        "behaviour_anomaly": 86,  # × the calibrated behaviour score m (fapiao.risk.behaviour_model)
    },
    params={
        "duplicate_min": 2,  # distinct requesters shown the face of one invoice
        "mismatch_min": 2,  # 不一致 checks of one invoice, this one included
        "burst_min": 5,  # consecutive invoice numbers from one seller to one buyer
        "burst_days": 3,  # … issued within this many days of each other
        "amount_z": 4,  # |z| of log(价税合计) against the seller's own history
        "amount_min_history": 10,  # seller invoices before amounts are judged
        "model_reason_points": 15,  # model points from which 'model_anomaly' is a reason
    },
    updated_by="default",
)

Seller = dict[str, Any] | None
Rule = Callable[[CheckResult, CheckContext, Seller, RiskRules], "RuleHit | None"]


def weight(rules: RiskRules, reason: str) -> int:
    return int(rules.weights.get(reason, DEFAULT_RULES.weights.get(reason, 0)))


def param(rules: RiskRules, name: str) -> float:
    return float(rules.params.get(name, DEFAULT_RULES.params[name]))


def _hit(rules: RiskRules, reason: str, evidence: dict[str, str]) -> RuleHit | None:
    points = max(0, min(100, weight(rules, reason)))
    return RuleHit(reason, points, evidence) if points else None


def duplicate_reimbursement(
    result: CheckResult, context: CheckContext, seller: Seller, rules: RiskRules
) -> RuleHit | None:
    """Another requester is shown an invoice already shown to someone else: it may be reimbursed twice.

    The first requester shown the invoice re-checking it later is not a new presentation (that needs
    `consistent_requesters` in order of first presentation); a follow-up about a status change is not one.
    """
    if result.verdict not in PRESENTED_VERDICTS or _status_follow_up(result, context):
        return None
    presented = dict.fromkeys((*context.consistent_requesters, result.requester))
    first = next(iter(presented))
    if len(presented) < param(rules, "duplicate_min") or result.requester == first:
        return None
    return _hit(
        rules,
        "duplicate_reimbursement",
        {
            "first_presented_to": first,
            "requesters": ",".join(presented),
            "distinct_requesters": str(len(presented)),
            "distinct_orgs": str(len(context.orgs)),
            "first_checked_at": context.first_checked_at.isoformat() if context.first_checked_at else "",
        },
    )


def presented_after_void(
    result: CheckResult, context: CheckContext, seller: Seller, rules: RiskRules
) -> RuleHit | None:
    """Checked after it was voided or red-flushed (a follow-up of a check made before the change is not)."""
    if result.verdict not in (Verdict.VOIDED, Verdict.RED_FLUSHED_PARTIAL, Verdict.RED_FLUSHED_FULL):
        return None
    if _status_follow_up(result, context):
        return None
    changed = context.status_changed_at
    return _hit(
        rules,
        "presented_after_void",
        {
            "status": result.verdict.value,
            "status_changed_at": changed.isoformat() if changed else "",
            "requested_at": result.requested_at.isoformat(),
        },
    )


def _status_follow_up(result: CheckResult, context: CheckContext) -> bool:
    """A follow-up telling an earlier check about a later status change: no new presentation."""
    changed = context.status_changed_at
    return result.follow_up and changed is not None and result.requested_at < changed


def repeated_mismatch(
    result: CheckResult, context: CheckContext, seller: Seller, rules: RiskRules
) -> RuleHit | None:
    """Another 不一致 check of an invoice already checked 不一致: someone trying values until one fits."""
    if result.verdict is not Verdict.INCONSISTENT:
        return None
    mismatches = context.prior_inconsistent + 1
    if mismatches < max(1.0, param(rules, "mismatch_min")):
        return None
    return _hit(
        rules,
        "repeated_mismatch",
        {
            "inconsistent_checks": str(mismatches),
            "checks": str(context.prior_checks + 1),
            "distinct_requesters": str(len(context.requesters)),
            "fields": ",".join(result.mismatched_fields),
        },
    )


def mismatch(result: CheckResult, context: CheckContext, seller: Seller, rules: RiskRules) -> RuleHit | None:
    """A single 不一致 check: a typo as often as a forgery, so by default below the alert threshold."""
    if result.verdict is not Verdict.INCONSISTENT:
        return None
    if context.prior_inconsistent + 1 >= max(1.0, param(rules, "mismatch_min")):
        return None  # repeated_mismatch says it louder
    return _hit(rules, "mismatch", {"fields": ",".join(result.mismatched_fields)})


def number_burst(
    result: CheckResult, context: CheckContext, seller: Seller, rules: RiskRules, run: int | None = None
) -> RuleHit | None:
    """Many consecutive invoice numbers from one seller to one buyer within days (拆票, split invoices).
    `run`: the burst_length over `burst_days` when the caller has it (the features' number_burst)."""
    buyer = context.buyer_tax_id or (result.invoice.buyer.tax_id or "" if result.invoice else "")
    issued = context.issued_at
    if not seller or not buyer or issued is None:
        return None
    days = param(rules, "burst_days")
    if run is None:
        run = seller_stats.burst_length(
            seller, buyer, result.invoice_key, result.invoice_number, issued, days
        )
    if run < param(rules, "burst_min"):
        return None
    return _hit(
        rules,
        "number_burst",
        {"run": str(run), "buyer_tax_id": buyer, "seller_tax_id": context.seller_tax_id, "days": f"{days:g}"},
    )


def amount_outlier(
    result: CheckResult, context: CheckContext, seller: Seller, rules: RiskRules
) -> RuleHit | None:
    """A 价税合计 far outside the seller's own history (log scale)."""
    if result.invoice is None:
        return None
    total = result.invoice.total
    z = seller_stats.amount_zscore(seller, total, min_history=int(param(rules, "amount_min_history")))
    if z is None or abs(z) < param(rules, "amount_z"):
        return None
    return _hit(
        rules,
        "amount_outlier",
        {"total": f"{total:.2f}", "z": f"{z:.2f}", "seller_invoices": str(seller_stats.volume(seller))},
    )


def not_found(result: CheckResult, context: CheckContext, seller: Seller, rules: RiskRules) -> RuleHit | None:
    """查无此票 for a well-formed code and number: an invoice that looks real but was never issued."""
    if result.verdict is not Verdict.NOT_FOUND:
        return None
    today = result.requested_at.astimezone(_CST).date()
    if result.invoice_code:
        code = parse_invoice_code(result.invoice_code, today)
        if not code.valid:
            return None
        where, fplx = code.region_name or "", code.fplx
    else:
        number = parse_digital_number(result.invoice_number, today)
        if not number.valid:
            return None
        where, fplx = number.province_name or "", ""
    return _hit(
        rules,
        "not_found",
        {
            "invoice_key": result.invoice_key,
            "region": where,
            "fplx": fplx,
            "issue_date": str(result.issue_date),
        },
    )


RULES: tuple[Rule, ...] = (
    duplicate_reimbursement,
    presented_after_void,
    repeated_mismatch,
    mismatch,
    number_burst,
    amount_outlier,
    not_found,
)


def evaluate_rules(
    result: CheckResult,
    context: CheckContext,
    seller: dict[str, Any] | None,
    rules: RiskRules,
    *,
    burst_run: int | None = None,
) -> list[RuleHit]:
    """Every rule that fires for this result, in rule order (scoring sorts them by points).
    `burst_run`: the seller_stats.burst_length of this result over the rules' `burst_days`, when the
    caller computed it already (the features' number_burst, when the windows are equal)."""
    hits = []
    for rule in RULES:
        if rule is number_burst:
            hit = number_burst(result, context, seller, rules, burst_run)
        else:
            hit = rule(result, context, seller, rules)
        if hit is not None:
            hits.append(hit)
    return hits
