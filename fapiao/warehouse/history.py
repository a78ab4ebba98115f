"""Runs the history query (fapiao.analytics.history) page by page, and for exports, to the end."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from fapiao.analytics.filters import time_range
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
    if query.windowed:
        first, last = cursor_bounds(query, span, cursor)
        for window in date_windows(first, last, newest_first=query.order is Order.DESC):
            sql, params = page_sql(org_id, query, span, cursor, want - len(rows), window)
            rows += [parse_row(r) for r in engine.execute(sql, params)]
            if len(rows) >= want:
                break
    else:  # the ids in order over the whole range, then their rows
        sql, params = page_sql(org_id, query, span, cursor, want, ids_only=True)
        ids = [str(r[0]) for r in engine.execute(sql, params)]
        if ids:
            sql, params = rows_sql(org_id, span, ids)
            found = {item["check_id"]: item for item in (parse_row(r) for r in engine.execute(sql, params))}
            rows = [found[i] for i in ids if i in found]
    items = rows[: query.limit]
    more = len(rows) > query.limit
    return HistoryPage(items, cursor_after(query, items[-1]).encode() if more and items else None)


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
