"""Runs the history query (fapiao.analytics.history) page by page, and for exports, to the end.

With an invoice number or a seller/buyer tax id, the lookup tables pick the candidate checks first
(fapiao.analytics.lookups); otherwise time-sorted pages read growing date windows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from fapiao.analytics import lookups
from fapiao.analytics.filters import TimeRange, time_range
from fapiao.analytics.history import (
    Cursor,
    HistoryQuery,
    Order,
    cursor_after,
    cursor_bounds,
    date_windows,
    page_sql,
    parse_row,
    rows_sql,
)
from fapiao.warehouse.engine import Engine


@dataclass(frozen=True)
class HistoryPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def fetch_page(
    engine: Engine, org_id: str, query: HistoryQuery, cursor: Cursor | None, today: date
) -> HistoryPage:
    """One page of an organisation's checks, each at its newest result."""
    span = time_range(query.filters, today)
    want = query.limit + 1  # one more than asked tells whether there is a next page
    rows: list[dict[str, Any]] = []
    lookup = lookups.choose(query.filters)
    if lookup is not None:
        rows = _narrowed(engine, org_id, query, lookup, span, cursor, want)
    elif query.windowed:
        first, last = cursor_bounds(query, span, cursor)
        for window in date_windows(first, last, newest_first=query.order is Order.DESC):
            sql, params = page_sql(org_id, query, span, cursor, want - len(rows), window)
            rows += [parse_row(r) for r in engine.execute(sql, params)]
            if len(rows) >= want:
                break
    else:  # the ids in order over the whole range, then their rows
        sql, params = page_sql(org_id, query, span, cursor, want, ids_only=True)
        rows = _rows_of(engine, org_id, span, [str(r[0]) for r in engine.execute(sql, params)])
    items = rows[: query.limit]
    more = len(rows) > query.limit
    return HistoryPage(items, cursor_after(query, items[-1]).encode() if more and items else None)


def _narrowed(
    engine: Engine,
    org_id: str,
    query: HistoryQuery,
    lookup: lookups.Lookup,
    span: TimeRange,
    cursor: Cursor | None,
    want: int,
) -> list[dict[str, Any]]:
    """Up to `want` rows of the checks a lookup table names. Sorted by time: the next candidates in
    that order, in chunks growing 4x until the page is full (a check whose newest result no longer
    passes a filter is skipped); other sorts: all candidates of the range, ids in order, then rows."""
    if not query.windowed:
        sql, params = lookups.rows_sql(
            org_id, query, span, None, want, subquery=lookups.pairs_sql(org_id, lookup, span),
            cursor=cursor, ids_only=True,
        )  # fmt: skip
        return _rows_of(engine, org_id, span, [str(r[0]) for r in engine.execute(sql, params)])
    rows: list[dict[str, Any]] = []
    after, chunk = cursor, want
    while len(rows) < want:
        sql, params = lookups.candidates_sql(org_id, lookup, span, after, query.order, chunk)
        picked = [(str(d), str(c), str(t)) for d, c, t in engine.execute(sql, params)]
        if not picked:
            break
        sql, params = lookups.rows_sql(org_id, query, span, [(d, c) for d, c, _ in picked], want - len(rows))
        rows += [parse_row(r) for r in engine.execute(sql, params)]
        if len(picked) < chunk:
            break
        after = Cursor(picked[-1][2], picked[-1][1], query.fingerprint())
        chunk = min(chunk * 4, lookups.MAX_CHUNK)
    return rows


def _rows_of(engine: Engine, org_id: str, span: TimeRange, ids: list[str]) -> list[dict[str, Any]]:
    """The rows of these checks (newest results), in the order of `ids`."""
    if not ids:
        return []
    sql, params = rows_sql(org_id, span, ids)
    found = {item["check_id"]: item for item in (parse_row(r) for r in engine.execute(sql, params))}
    return [found[i] for i in ids if i in found]


def iterate(
    engine: Engine, org_id: str, query: HistoryQuery, today: date, max_rows: int
) -> Iterator[list[dict[str, Any]]]:
    """Every matching check, page by page (exports), stopping after `max_rows`."""
    cursor: Cursor | None = None
    sent = 0
    while sent < max_rows:
        page = fetch_page(engine, org_id, query, cursor, today)
        items = page.items[: max_rows - sent]
        if items:
            yield items
        sent += len(items)
        if page.next_cursor is None:
            return
        cursor = Cursor.decode(page.next_cursor, query.fingerprint())
