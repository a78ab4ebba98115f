"""历史查验记录: the history query — one row per check at its newest result — with whitelisted sorting
and keyset (cursor) pagination. Pure: builds SQL and parses rows; `fapiao.warehouse.history` runs it.

Sorting by request time (the default) reads the range in date windows, newest first, growing 4x
until the page is full, so a page costs a FINAL over a few days, not over the whole range (ClickHouse
18.16 cannot stop early when reading in key order). Other sorts take candidate rows in order without
FINAL (`candidates_sql`: any version, a few narrow columns), keep those that are their check's newest
result, and read the kept rows' columns by key (fapiao.analytics.lookups, fapiao.warehouse.history).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from fapiao.analytics.catalog import REGION_SQL
from fapiao.analytics.filters import RANGE_CONDITIONS, CheckFilters, Compiled, TimeRange, compile_filters

MAX_PAGE = 200
_CENT = Decimal("0.01")


class SortKey(StrEnum):
    REQUESTED_AT = "requested_at"
    TOTAL = "total"
    ISSUE_DATE = "issue_date"


class Order(StrEnum):
    DESC = "desc"
    ASC = "asc"


# sort key -> (sort expression, the same of a cursor value string). Money sorts as integer cents:
# ClickHouse 18.16 sorts (Decimal, other column) pathologically slowly (100x).
_SORT_SQL: dict[SortKey, tuple[str, str]] = {
    SortKey.REQUESTED_AT: ("requested_at", "toDateTime(%(cursor_value)s, 'UTC')"),
    SortKey.TOTAL: ("toInt64(total * 100)", "toInt64(toDecimal64(%(cursor_value)s, 2) * 100)"),
    SortKey.ISSUE_DATE: ("issue_date", "toDate(%(cursor_value)s)"),
}

# sort key -> its value as text, as a cursor holds it
_SORT_TEXT: dict[SortKey, str] = {
    SortKey.REQUESTED_AT: "toString(requested_at)",
    SortKey.TOTAL: "toString(total)",
    SortKey.ISSUE_DATE: "toString(issue_date)",
}

# (field, SQL). No aliases: an alias named like a column would shadow it in WHERE.
FIELDS: tuple[tuple[str, str], ...] = (
    ("check_id", "toString(check_id)"),
    ("requested_at", "toString(requested_at)"),
    ("decided_at", "toString(decided_at)"),
    ("requester", "requester"),
    ("channel", "channel"),
    ("batch_id", "batch_id"),
    ("batch_row", "batch_row"),
    ("region", REGION_SQL),
    ("fplx", "fplx"),
    ("invoice_code", "invoice_code"),
    ("invoice_number", "invoice_number"),
    ("issue_date", "toString(issue_date)"),
    ("verdict", "verdict"),
    ("mismatched_fields", "mismatched_fields"),
    ("check_count", "check_count"),
    ("follow_up", "follow_up"),
    ("result_version", "result_version"),
    ("invoice_status", "invoice_status"),
    ("seller_tax_id", "seller_tax_id"),
    ("seller_name", "seller_name"),
    ("buyer_tax_id", "buyer_tax_id"),
    ("buyer_name", "buyer_name"),
    ("amount", "toString(amount)"),
    ("tax", "toString(tax)"),
    ("total", "toString(total)"),
    ("risk_score", "risk_score"),
    ("risk_severity", "risk_severity"),
    ("risk_reasons", "risk_reasons"),
    # sealed parties and requester (migration 010), opened by the API (fapiao.analytics.reveal.open_row)
    ("seller_ref", "seller_ref"),
    ("seller_sealed", "seller_sealed"),
    ("buyer_ref", "buyer_ref"),
    ("buyer_sealed", "buyer_sealed"),
    ("requester_ref", "requester_ref"),
    ("requester_sealed", "requester_sealed"),
)
FIELD_NAMES = tuple(name for name, _ in FIELDS)
SELECT_FIELDS = ", ".join(sql for _, sql in FIELDS)  # a history row, as `parse_row` reads it


class CursorError(ValueError):
    """A cursor that is malformed or belongs to another query."""


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: the last row's sort value (as text) and check id."""

    value: str
    check_id: str
    fingerprint: str

    def encode(self) -> str:
        raw = json.dumps([self.value, self.check_id, self.fingerprint], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, fingerprint: str) -> Cursor:
        try:
            padded = text + "=" * (-len(text) % 4)
            value, check_id, print_ = json.loads(base64.urlsafe_b64decode(padded.encode()))
            cursor = cls(str(value), str(check_id), str(print_))
        except (ValueError, TypeError) as exc:
            raise CursorError("malformed cursor") from exc
        if cursor.fingerprint != fingerprint:
            raise CursorError("the cursor belongs to another query (filters or sort changed)")
        return cursor


@dataclass(frozen=True)
class HistoryQuery:
    filters: CheckFilters
    sort: SortKey = SortKey.REQUESTED_AT
    order: Order = Order.DESC
    limit: int = 50

    def fingerprint(self) -> str:
        text = json.dumps([self.filters.canonical(), self.sort, self.order], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def windowed(self) -> bool:
        """Read in growing date windows (sorting by time): even a selective filter (a seller, an
        invoice number) usually fills a page from recent days; measured faster than one pass."""
        return self.sort is SortKey.REQUESTED_AT


def page_sql(
    org_id: str,
    query: HistoryQuery,
    span: TimeRange,
    cursor: Cursor | None,
    limit: int,
    window: tuple[date, date] | None = None,
) -> tuple[str, dict[str, Any]]:
    """One page (or the part of it within a date window) of the newest result per check."""
    compiled = compile_filters(org_id, query.filters, span)
    pre, post, params = list(compiled.prewhere), list(compiled.where), dict(compiled.params)
    dates: tuple[str, ...] = RANGE_CONDITIONS
    if window is not None:
        window_dates = ("requested_date >= toDate(%(w_start)s)", "requested_date <= toDate(%(w_end)s)")
        pre += window_dates
        dates = (*dates, *window_dates)
        params |= {"w_start": window[0].isoformat(), "w_end": window[1].isoformat()}
    candidates = compiled.candidates(dates)
    if candidates:
        pre.append(candidates)
    if cursor is not None:
        after, after_params = after_cursor(query, cursor)
        post.append(after)
        params |= after_params
    params["limit"] = int(limit)
    clauses = Compiled(tuple(pre), tuple(post)).clauses(final=True)
    sql = f"SELECT {SELECT_FIELDS} FROM check_results FINAL {clauses} {order_by(query)}"
    return sql, params


def after_cursor(
    query: HistoryQuery, cursor: Cursor, tie: tuple[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    """The condition (and its parameters) for rows after the cursor in the query's order. `tie`:
    (column, the cursor row's value) ordering several rows of one check (a lookup table's)."""
    column, cast = _SORT_SQL[query.sort]
    op = "<" if query.order is Order.DESC else ">"
    params = {"cursor_value": cursor.value, "cursor_id": cursor.check_id}
    after_id = f"toString(check_id) {op} %(cursor_id)s"
    if tie is not None:
        after_id = f"({after_id} OR (toString(check_id) = %(cursor_id)s AND {tie[0]} {op} %(cursor_tie)s))"
        params["cursor_tie"] = tie[1]
    return f"({column} {op} {cast} OR ({column} = {cast} AND {after_id}))", params


def order_by(query: HistoryQuery, tie: str | None = None) -> str:
    """The page order: the sort column, then the check id as a tie-break (then `tie`); `limit` bound."""
    column, _ = _SORT_SQL[query.sort]
    direction = "DESC" if query.order is Order.DESC else "ASC"
    then = f", {tie} {direction}" if tie else ""
    return f"ORDER BY {column} {direction}, toString(check_id) {direction}{then} LIMIT %(limit)s"


@dataclass(frozen=True)
class Candidate:
    """A result row that may be on a page: its check, version, and place in the page's order (the
    sort value as a cursor holds it; `tie` orders rows of one check at one place)."""

    requested_date: str
    requested_at: str
    check_id: str
    version: int
    value: str
    tie: str

    def cursor(self, query: HistoryQuery) -> Cursor:
        return Cursor(self.value, self.check_id, query.fingerprint())


def candidate_columns(query: HistoryQuery, tie: str) -> str:
    """What a candidate query selects (`parse_candidate` reads it); `tie` a String expression."""
    sort = _SORT_TEXT[query.sort]
    return (
        f"toString(requested_date), toString(requested_at), toString(check_id), result_version, {sort}, {tie}"
    )


def parse_candidate(row: Sequence[Any]) -> Candidate:
    day, at, check_id, version, value, tie = row
    return Candidate(str(day), str(at), str(check_id), int(version), str(value), str(tie))


RESULT_TIE = "toString(result_version)"  # orders the rows of one check in check_results


def candidates_sql(
    org_id: str,
    query: HistoryQuery,
    span: TimeRange,
    cursor: Cursor | None,
    limit: int,
    tie: str | None = None,
    within: tuple[str, dict[str, Any]] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The next `limit` result rows of check_results passing every filter, in the query's order after
    `cursor` (`tie`: the cursor row's RESULT_TIE, to continue among one check's rows), any version:
    no FINAL, so 18.16 reads on every core and only these narrow columns (and no `candidates`
    subquery: every row is judged by itself). Each check's newest result is among them when it
    passes; the caller keeps a row only if it is its check's newest. `within`:
    a subquery of (requested_date, check_id) to narrow to (a lookup's, fapiao.analytics.lookups)."""
    compiled = compile_filters(org_id, query.filters, span)
    pre, post, params = list(compiled.prewhere), list(compiled.where), dict(compiled.params)
    if within is not None:
        pre.append(f"(requested_date, check_id) IN ({within[0]})")
        params |= within[1]
    if cursor is not None:
        after, after_params = after_cursor(query, cursor, None if tie is None else (RESULT_TIE, tie))
        post.append(after)
        params |= after_params
    params["limit"] = int(limit)
    clauses = Compiled(tuple(pre), tuple(post)).clauses(final=True)  # PREWHERE: no FINAL, still first
    columns = candidate_columns(query, RESULT_TIE)
    return f"SELECT {columns} FROM check_results {clauses} {order_by(query, RESULT_TIE)}", params


def date_windows(
    first: date, last: date, *, newest_first: bool, start_days: int = 1
) -> Iterator[tuple[date, date]]:
    """Consecutive date windows covering first..last, growing 4x, from the end the sort starts at."""
    size = start_days
    if newest_first:
        hi = last
        while hi >= first:
            lo = max(first, hi - timedelta(days=size - 1))
            yield lo, hi
            hi, size = lo - timedelta(days=1), size * 4
    else:
        lo = first
        while lo <= last:
            hi = min(last, lo + timedelta(days=size - 1))
            yield lo, hi
            lo, size = hi + timedelta(days=1), size * 4


def cursor_bounds(query: HistoryQuery, span: TimeRange, cursor: Cursor | None) -> tuple[date, date]:
    """The UTC dates still to read: the range, cut at the cursor's date when sorting by time."""
    first, last = span.first_date, span.last_date
    if cursor is not None and query.windowed:
        at = parse_utc(cursor.value).date()
        if query.order is Order.DESC:
            last = min(last, at)
        else:
            first = max(first, at)
    return first, last


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def parse_row(row: Sequence[Any]) -> dict[str, Any]:
    """A result row (same shape from clickhouse-driver and chdb) as typed values."""
    item = dict(zip(FIELD_NAMES, row, strict=True))
    item["requested_at"] = parse_utc(str(item["requested_at"]))
    item["decided_at"] = parse_utc(str(item["decided_at"]))
    item["issue_date"] = date.fromisoformat(str(item["issue_date"]))
    for money in ("amount", "tax", "total"):
        item[money] = Decimal(str(item[money])).quantize(_CENT)
    for number in ("batch_row", "check_count", "result_version", "risk_score"):
        item[number] = int(item[number])
    item["follow_up"] = bool(int(item["follow_up"]))
    item["mismatched_fields"] = list(item["mismatched_fields"])
    item["risk_reasons"] = list(item["risk_reasons"])
    return item


def cursor_after(query: HistoryQuery, item: dict[str, Any]) -> Cursor:
    """The cursor that continues after `item` (the last row of a page)."""
    value = item[query.sort.value]
    if isinstance(value, datetime):
        text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    elif isinstance(value, Decimal):
        text = f"{value:.2f}"
    else:
        text = str(value)
    return Cursor(text, str(item["check_id"]), query.fingerprint())
