"""The alert inbox query (pure): filters, the cursor, and the SQL over `risk_alerts` FINAL.

Pages go newest first by (raised_at, alert_id), which is unique, so a cursor (the last row's pair,
plus a fingerprint of the filters) resumes exactly where the page ended even while new alerts arrive.
Status and assignee live with the cases, in the accounts store: the caller turns them into alert ids
to keep or to leave out (`alert_ids`, `exclude_ids`) before the query runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MAX_PAGE = 500
SEVERITIES = ("low", "medium", "high", "critical")
SELECT = (
    "alert_id, check_id, org_id, invoice_key, seller_tax_id, seller_ref, seller_sealed, raised_at, "
    "score, severity, reasons, evidence_keys, evidence_values, rule_version, model_version"
)


class CursorError(ValueError):
    """A cursor that is not one of ours, or belongs to other filters."""


@dataclass(frozen=True)
class InboxFilters:
    raised_from: datetime | None = None
    raised_to: datetime | None = None
    severities: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    seller_refs: tuple[str, ...] = ()  # the seller's tax id and its pseudonym (sealed alerts)
    statuses: tuple[str, ...] = ()
    assignee: str | None = None
    alert_ids: tuple[str, ...] | None = None  # only these (None: no restriction)
    exclude_ids: tuple[str, ...] = field(default=())

    def fingerprint(self) -> str:
        """What a cursor is bound to: the filters the user chose (not the ids derived from them)."""
        chosen = [
            self.raised_from.isoformat() if self.raised_from else None,
            self.raised_to.isoformat() if self.raised_to else None,
            sorted(self.severities),
            sorted(self.reasons),
            sorted(self.seller_refs),
            sorted(self.statuses),
            self.assignee,
        ]
        return filters_fingerprint(chosen)


def filters_fingerprint(chosen: list[Any]) -> str:
    """What a cursor is bound to, from the filters a user chose (JSON-able): a cursor of other filters
    is refused. Shared by every list paged with `Cursor` (the alert inbox, the review queue)."""
    return hashlib.sha256(json.dumps(chosen).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last row's (time, id). The inbox pages alerts by (raised_at, alert_id);
    the review queue pages its items by (created_at, id) with the same cursor."""

    raised_at: datetime
    alert_id: str

    def encode(self, fingerprint: str) -> str:
        raw = json.dumps([self.raised_at.isoformat(), self.alert_id, fingerprint]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, fingerprint: str) -> Cursor:
        try:
            raised, alert_id, bound = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            at = datetime.fromisoformat(raised)
        except (ValueError, TypeError) as exc:
            raise CursorError("cursor is not valid") from exc
        if bound != fingerprint:
            raise CursorError("cursor belongs to other filters")
        if not 1970 < at.year < 2106:  # ClickHouse DateTime's range: a forged cursor gets 422, not 500
            raise CursorError("cursor is not valid")
        return cls(at if at.tzinfo else at.replace(tzinfo=UTC), str(alert_id))


def inbox_sql(
    org_id: str, filters: InboxFilters, after: Cursor | None, limit: int
) -> tuple[str, dict[str, Any]]:
    """The page query: the organisation's alerts matching `filters`, newest first, after `after`."""
    where = ["org_id = %(org_id)s"]
    params: dict[str, Any] = {"org_id": org_id, "limit": limit}
    if filters.raised_from is not None:
        where.append("raised_at >= %(raised_from)s AND raised_date >= toDate(%(raised_from)s)")
        params["raised_from"] = filters.raised_from.astimezone(UTC).replace(tzinfo=None)
    if filters.raised_to is not None:
        where.append("raised_at < %(raised_to)s AND raised_date <= toDate(%(raised_to)s)")
        params["raised_to"] = filters.raised_to.astimezone(UTC).replace(tzinfo=None)
    if filters.severities:
        where.append("severity IN %(severities)s")
        params["severities"] = tuple(filters.severities)
    if filters.reasons:
        where.append("hasAny(reasons, %(reasons)s)")
        params["reasons"] = list(filters.reasons)
    if filters.seller_refs:
        where.append("(seller_tax_id IN %(sellers)s OR seller_ref IN %(sellers)s)")
        params["sellers"] = tuple(filters.seller_refs)
    if filters.alert_ids is not None:
        if not filters.alert_ids:
            where.append("0")
        else:
            where.append("toString(alert_id) IN %(ids)s")
            params["ids"] = tuple(filters.alert_ids)
    if filters.exclude_ids:
        where.append("toString(alert_id) NOT IN %(excluded)s")
        params["excluded"] = tuple(filters.exclude_ids)
    if after is not None:
        where.append(
            "(raised_at < %(after_at)s OR (raised_at = %(after_at)s AND alert_id < toUUID(%(after_id)s)))"
        )
        params["after_at"] = after.raised_at.astimezone(UTC).replace(tzinfo=None)
        params["after_id"] = after.alert_id
    sql = (
        f"SELECT {SELECT} FROM risk_alerts FINAL WHERE {' AND '.join(where)} "
        "ORDER BY raised_at DESC, alert_id DESC LIMIT %(limit)s"
    )
    return sql, params


def precision_sql(org_id: str) -> tuple[str, dict[str, Any]]:
    """Per month (Asia/Shanghai) and alert reason: the analysts' decisions and the precision they give
    (confirmed / decided). Reopened alerts are not counted: their label was withdrawn."""
    sql = (
        "SELECT toStartOfMonth(toDate(decided_at, 'Asia/Shanghai')) AS month, reason, "
        "countIf(decision IN ('confirmed_fraud', 'confirmed_error')) AS confirmed, "
        "countIf(decision = 'dismissed') AS dismissed "
        "FROM (SELECT decided_at, decision, reasons FROM alert_decisions FINAL "
        "WHERE org_id = %(org_id)s AND decision != 'reopened') "
        "ARRAY JOIN reasons AS reason GROUP BY month, reason ORDER BY month, reason"
    )
    return sql, {"org_id": org_id}
