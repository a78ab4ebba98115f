"""The anomaly model's inputs for one result: a fixed-length tuple of finite floats (pure).

Only what the worker observes goes in: the result, the invoice's check context, the seller's rolling
statistics. Demo labels never do. Unknown values have a fixed stand-in (0, or -1 where 0 means
something), so the same result always gives the same tuple and never a NaN. Bump FEATURE_SET_VERSION
whenever a name, an order or a meaning changes: a model only scores the feature set it was trained on.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

from fapiao.risk import seller_stats
from schemas.events import CheckContext, CheckResult, Verdict

FEATURE_SET_VERSION = 1
BURST_DAYS = 3.0  # the window of the number_burst feature (the rule's is a run-time parameter)
_CST = timezone(timedelta(hours=8), "Asia/Shanghai")
_Z_CLIP = 20.0

FEATURE_NAMES: tuple[str, ...] = (
    "log_total",  # ln(1 + 价税合计); 0 when the face is not shown (不一致, 查无此票 …)
    "amount_z",  # z of ln(价税合计) against the seller's history, clipped to ±20; 0 when unknown
    "issue_hour",  # Asia/Shanghai hour the invoice was issued (register); -1 when unknown
    "issue_weekday",  # weekday (0 = Monday) of the issue date as requested
    "seller_hour_share",  # share of the seller's invoices issued in that hour; 0 when unknown
    "days_to_check",  # days from the requested issue date to the check (Asia/Shanghai), at least 0
    "seller_void_ratio",  # the seller's voided + red-flushed per issued
    "seller_buyers",  # ln(1 + distinct buyers of the seller)
    "seller_volume",  # ln(1 + invoices the seller issued)
    "prior_checks",  # checks of this invoice before this one
    "prior_inconsistent",  # … of which 不一致
    "requesters",  # distinct requesters of this invoice, this one included
    "orgs",  # distinct organisations, this one included
    "presented_requesters",  # distinct requesters shown the face (一致 or a status)
    "number_burst",  # run of consecutive numbers seller→buyer around it (BURST_DAYS); 0 unknown
    "minutes_since_first_check",  # ln(1 + minutes since the invoice was first checked)
    "requester_is_buyer",  # 1 the requester is the buyer's tax id, 0 another, -1 buyer unknown
    "mismatched_fields",  # how many fields differ from the register
    "follow_up",  # 1 for a result sent after the fact (status change, sync resolved)
    "verdict_consistent",
    "verdict_inconsistent",
    "verdict_not_found",
    "verdict_voided",
    "verdict_red_flushed",  # partial or full
    "verdict_other",  # abnormal, pending_sync, limit_exceeded, too_old, invalid
)

_VERDICT_SLOTS: dict[Verdict, int] = {
    Verdict.CONSISTENT: 0,
    Verdict.INCONSISTENT: 1,
    Verdict.NOT_FOUND: 2,
    Verdict.VOIDED: 3,
    Verdict.RED_FLUSHED_PARTIAL: 4,
    Verdict.RED_FLUSHED_FULL: 4,
}


def features(result: CheckResult, context: CheckContext, seller: dict[str, Any] | None) -> tuple[float, ...]:
    """The feature vector of one result, in FEATURE_NAMES order."""
    face = result.invoice
    total = face.total if face else None
    z = seller_stats.amount_zscore(seller, total) if total is not None else None
    issued = context.issued_at.astimezone(_CST) if context.issued_at else None
    hour = issued.hour if issued else -1
    checked_day = result.requested_at.astimezone(_CST).date()
    buyer = context.buyer_tax_id or ((face.buyer.tax_id or "") if face else "")
    burst = (
        seller_stats.burst_length(
            seller, buyer, result.invoice_key, result.invoice_number, context.issued_at, BURST_DAYS
        )
        if seller and context.issued_at
        else 0
    )
    verdicts = [0.0] * 6
    verdicts[_VERDICT_SLOTS.get(result.verdict, 5)] = 1.0
    values = (
        math.log1p(float(total)) if total is not None and total > 0 else 0.0,
        max(-_Z_CLIP, min(_Z_CLIP, z)) if z is not None else 0.0,
        float(hour),
        float(result.issue_date.weekday()),
        seller_stats.hour_share(seller, hour),
        float(max(0, (checked_day - result.issue_date).days)),
        seller_stats.void_ratio(seller),
        math.log1p(seller_stats.distinct_buyers(seller)),
        math.log1p(seller_stats.volume(seller)),
        float(context.prior_checks),
        float(context.prior_inconsistent),
        float(len(context.requesters)),
        float(len(context.orgs)),
        float(len(context.consistent_requesters)),
        float(burst),
        _minutes_since(context.first_checked_at, result.requested_at),
        (1.0 if result.requester == buyer else 0.0) if buyer else -1.0,
        float(len(result.mismatched_fields)),
        1.0 if result.follow_up else 0.0,
        *verdicts,
    )
    return tuple(v if math.isfinite(v) else 0.0 for v in values)


def _minutes_since(first: datetime | None, now: datetime) -> float:
    if first is None:
        return 0.0
    return math.log1p(max(0.0, (now - first).total_seconds() / 60))
