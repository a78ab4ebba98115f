"""Filters on checks, compiled to SQL conditions with bound parameters (never user text in SQL).

Every compiled filter starts with the organisation condition, which no caller input can remove.
Conditions on values that are the same in every result of a check (invoice number, requester,
request time…) may run before FINAL collapses the versions (PREWHERE, cheap); conditions on values a
later result can change (verdict, seller once found, amount) must run after it (WHERE).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fapiao.analytics.catalog import ANALYTICS_TZ, REGION_SQL
from fapiao.domain.invoice_types import INVOICE_TYPES
from schemas.events import FIRST_DAY, LAST_DAY, Verdict

EARLIEST = FIRST_DAY
# The days a query may name: the warehouse's Date/DateTime columns start at 1970 (a previous period of
# ten years before 2000 still fits) and 18.16's end in 2106; checks before 2000 do not exist (the
# event schemas refuse them: schemas.events).
DATE_MIN, DATE_MAX = FIRST_DAY, LAST_DAY
_DATE_NAMES_ZH = {"date_from": "起始日期 date_from", "date_to": "截止日期 date_to"}
_TAX_ID = re.compile(r"^[0-9A-Z]{15,20}$")
_DIGITS = re.compile(r"^[0-9]{1,20}$")
_DERIVED = frozenset({"seller_refs", "buyer_refs", "requester_ref"})
_REF = re.compile(r"^([0-9a-f]{64}|-)$")  # a pseudonym, or '-' that none matches
_VERDICTS = frozenset(v.value for v in Verdict)
_TYPES = frozenset(INVOICE_TYPES) | {""}
MAX_TEXT = 100


@dataclass(frozen=True)
class CheckFilters:
    """What a caller may narrow checks by. Dates are Asia/Shanghai days, both ends included."""

    date_from: date | None = None
    date_to: date | None = None
    verdicts: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    seller: str | None = None  # a tax id (exact) or part of the name
    buyer: str | None = None
    amount_min: Decimal | None = None  # 价税合计
    amount_max: Decimal | None = None
    invoice_number: str | None = None
    invoice_code: str | None = None
    requester: str | None = None
    batch_id: str | None = None
    min_risk_score: int | None = None
    # Sealed columns (migration 010): set by fapiao.analytics.reveal.pseudonymise_filters from seller,
    # buyer and requester (kept, for the fingerprint): pseudonyms of the parties (any of) and requester.
    # When set, they replace the plaintext conditions; canonical() leaves them out.
    seller_refs: tuple[str, ...] = ()
    buyer_refs: tuple[str, ...] = ()
    requester_ref: str | None = None

    @staticmethod
    def is_tax_id(value: str) -> bool:
        """Whether a seller/buyer filter value is a tax id (exact) rather than part of a name."""
        return bool(_TAX_ID.match(value))

    def __post_init__(self) -> None:
        problems = filter_problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    def canonical(self) -> dict[str, Any]:
        """A JSON-able form, stable for equal filters (cursor fingerprints, saved reports)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            if name in _DERIVED:
                continue
            value = getattr(self, name)
            if value is None or value == ():
                continue
            out[name] = list(value) if isinstance(value, tuple) else str(value)
        return out


def date_problems(**dates: date | None) -> list[tuple[str, str, str]]:
    """(field, English, Chinese) for each named date outside DATE_MIN..DATE_MAX; None is fine."""
    problems = []
    for name, value in dates.items():
        if value is not None and not DATE_MIN <= value <= DATE_MAX:
            problems.append(
                (
                    name,
                    f"{name} must be between {DATE_MIN} and {DATE_MAX}",
                    f"{_DATE_NAMES_ZH.get(name, name)}须在 {DATE_MIN} 至 {DATE_MAX} 之间",
                )
            )
    return problems


def filter_problems(f: CheckFilters) -> list[str]:
    """Why these filters are unusable (empty when fine). The API validates too; this guards the core."""
    problems = [en for _, en, _ in date_problems(date_from=f.date_from, date_to=f.date_to)]
    if f.date_from and f.date_to and f.date_from > f.date_to:
        problems.append("date_from is after date_to")
    if unknown := set(f.verdicts) - _VERDICTS:
        problems.append(f"unknown verdicts: {sorted(unknown)}")
    if unknown := set(f.types) - _TYPES:
        problems.append(f"unknown invoice types: {sorted(unknown)}")
    if any(not (len(r) == 4 and r.isdigit()) for r in f.regions):
        problems.append("regions are 4-digit codes such as 1100")
    for name in ("invoice_number", "invoice_code"):
        value = getattr(f, name)
        if value is not None and not _DIGITS.match(value):
            problems.append(f"{name} must be digits")
    if any(not _REF.match(r) for r in (*f.seller_refs, *f.buyer_refs, *filter(None, [f.requester_ref]))):
        problems.append("pseudonyms are 64 hex digits")
    for name in ("seller", "buyer", "requester", "batch_id"):
        value = getattr(f, name)
        if value is not None and not (0 < len(value) <= MAX_TEXT):
            problems.append(f"{name} must be 1 to {MAX_TEXT} characters")
    if f.amount_min is not None and f.amount_max is not None and f.amount_min > f.amount_max:
        problems.append("amount_min is above amount_max")
    if f.min_risk_score is not None and not 0 <= f.min_risk_score <= 100:
        problems.append("min_risk_score must be between 0 and 100")
    return problems


@dataclass(frozen=True)
class TimeRange:
    """A half-open UTC interval [start, end) and the UTC dates it touches (for partition pruning)."""

    start: datetime
    end: datetime

    @property
    def first_date(self) -> date:
        return self.start.date()

    @property
    def last_date(self) -> date:
        return (self.end - timedelta(seconds=1)).date()

    def params(self) -> dict[str, str]:
        return {
            "t_start": utc_text(self.start),
            "t_end": utc_text(self.end),
            "d_start": self.first_date.isoformat(),
            "d_end": self.last_date.isoformat(),
        }


def utc_text(moment: datetime) -> str:
    """'YYYY-MM-DD HH:MM:SS' in UTC: how every query passes a time (engine time zones never matter)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(ANALYTICS_TZ)).astimezone(UTC)


def local_days(first: date, last: date) -> TimeRange:
    """The UTC interval covering Asia/Shanghai days `first`..`last` inclusive."""
    return TimeRange(local_midnight(first), local_midnight(last + timedelta(days=1)))


def local_today(now: datetime) -> date:
    return now.astimezone(ZoneInfo(ANALYTICS_TZ)).date()


def time_range(f: CheckFilters, today: date) -> TimeRange:
    return local_days(f.date_from or EARLIEST, f.date_to or today)


RANGE_CONDITIONS = (
    "requested_date >= toDate(%(d_start)s)",
    "requested_date <= toDate(%(d_end)s)",
    "requested_at >= toDateTime(%(t_start)s, 'UTC')",
    "requested_at < toDateTime(%(t_end)s, 'UTC')",
)


@dataclass(frozen=True)
class Compiled:
    """SQL conditions (joined with AND) and their parameters."""

    prewhere: tuple[str, ...]
    where: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    selective: tuple[str, ...] = ()  # the WHERE conditions that usually keep few checks (seller, buyer)

    def candidates(self, date_conditions: tuple[str, ...] = RANGE_CONDITIONS) -> str | None:
        """`check_id IN (checks with a row passing the selective conditions)`, or None.

        Any row of a check passing is a superset of its newest row passing, so this may run before
        FINAL: FINAL then merges the few candidate checks instead of the whole range.
        """
        if not self.selective:
            return None
        conditions = " AND ".join(("org_id = %(org_id)s", *date_conditions, *self.selective))
        return f"check_id IN (SELECT check_id FROM check_results WHERE {conditions})"

    def clauses(self, *, final: bool) -> str:
        """`PREWHERE … WHERE …` for a FINAL read; everything in WHERE otherwise."""
        if final and self.prewhere:
            return f"PREWHERE {' AND '.join(self.prewhere)} WHERE {' AND '.join(self.where)}"
        return f"WHERE {' AND '.join(self.prewhere + self.where)}"


def compile_filters(org_id: str, f: CheckFilters, span: TimeRange) -> Compiled:
    """The conditions of `f` over `check_results`, scoped to `org_id` and the time range."""
    params: dict[str, Any] = {"org_id": org_id, **span.params()}
    pre = ["org_id = %(org_id)s", *RANGE_CONDITIONS]
    post: list[str] = []
    selective: list[str] = []
    stable = {
        "invoice_number": "invoice_number = %(invoice_number)s",
        "invoice_code": "invoice_code = %(invoice_code)s",
        "requester": "requester = %(requester)s",
        "requester_ref": "requester_ref = %(requester_ref)s",
        "batch_id": "batch_id = %(batch_id)s",
    }
    for name, condition in stable.items():
        value = getattr(f, name)
        if name == "requester" and f.requester_ref is not None:
            continue  # sealed: the pseudonym's condition instead
        if value is not None:
            pre.append(condition)
            params[name] = value
    if f.regions:
        pre.append(f"{REGION_SQL} IN %(regions)s")
        params["regions"] = tuple(f.regions)
    if f.verdicts:
        post.append("verdict IN %(verdicts)s")
        params["verdicts"] = tuple(f.verdicts)
    if f.types:
        post.append("fplx IN %(types)s")
        params["types"] = tuple(f.types)
    for party in ("seller", "buyer"):
        value = getattr(f, party)
        if value is None or getattr(f, f"{party}_refs"):
            continue
        if _TAX_ID.match(value):
            condition = f"{party}_tax_id = %({party})s"
        else:
            condition = f"positionCaseInsensitiveUTF8({party}_name, %({party})s) > 0"
        post.append(condition)
        selective.append(condition)
        params[party] = value
    for party in ("seller", "buyer"):
        refs = getattr(f, f"{party}_refs")
        if refs:
            condition = f"{party}_ref IN %({party}_refs)s"
            post.append(condition)
            selective.append(condition)
            params[f"{party}_refs"] = tuple(refs)
    if f.min_risk_score is not None:  # the risk stage's score of the check's newest result
        post.append("risk_score >= %(min_risk_score)s")
        params["min_risk_score"] = f.min_risk_score
    if f.amount_min is not None:
        post.append("total >= toDecimal64(%(amount_min)s, 2)")
        params["amount_min"] = f"{f.amount_min:.2f}"
    if f.amount_max is not None:
        post.append("total <= toDecimal64(%(amount_max)s, 2)")
        params["amount_max"] = f"{f.amount_max:.2f}"
    if not post:
        post.append("1")
    return Compiled(tuple(pre), tuple(post), params, tuple(selective))
