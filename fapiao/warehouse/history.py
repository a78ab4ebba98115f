"""Runs the history query (fapiao.analytics.history) page by page, and for exports, to the end.

Time-sorted pages read growing date windows; with an invoice number, the lookup table picks the
candidate checks first. A seller or buyer, and the other sorts, take candidate rows in the page's
order (from the covering party table, or check_results without FINAL), keep each only if it is its
check's newest result, and read the kept rows by key (fapiao.analytics.lookups)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from fapiao.analytics import lookups
from fapiao.analytics.filters import TimeRange, time_range
from fapiao.analytics.history import (
    Candidate,
    Cursor,
    HistoryQuery,
    Order,
    candidates_sql,
    cursor_after,
    cursor_bounds,
    date_windows,
    page_sql,
    parse_candidate,
    parse_row,
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
    if lookup is not None and lookup.covers:
        rows = _verified(engine, org_id, query, span, cursor, want, lookup=lookup)
    elif lookup is not None and query.windowed:
        rows = _narrowed(engine, org_id, query, lookup, span, cursor, want)
    elif query.windowed:
        first, last = cursor_bounds(query, span, cursor)
        for window in date_windows(first, last, newest_first=query.order is Order.DESC):
            sql, params = page_sql(org_id, query, span, cursor, want - len(rows), window)
            rows += [parse_row(r) for r in engine.execute(sql, params)]
            if len(rows) >= want:
                break
    else:  # the other sorts: candidate rows in order (a lookup's checks only), then the kept rows
        within = lookups.pairs_sql(org_id, lookup, span) if lookup is not None else None
        rows = _verified(engine, org_id, query, span, cursor, want, within=within)
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
    """Up to `want` rows of the checks a lookup table names, sorted by time: the next candidates in
    that order, in chunks growing 4x until the page is full (a check whose newest result no longer
    passes a filter is skipped)."""
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


def _verified(
    engine: Engine,
    org_id: str,
    query: HistoryQuery,
    span: TimeRange,
    cursor: Cursor | None,
    want: int,
    *,
    lookup: lookups.Lookup | None = None,
    within: tuple[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Up to `want` rows in the query's order: candidate rows (of a covering lookup, else of
    check_results, `within` a lookup's checks) in chunks growing 4x, each kept only when it is its
    check's newest result (versions from check_results), until the page is full; then the kept
    rows' columns by key. The first chunk has room for rows that will not be kept."""

    def candidates(after: Cursor | None, chunk: int, tie: str | None) -> list[Candidate]:
        if lookup is not None:
            sql, params = lookups.party_candidates_sql(org_id, query, lookup, span, after, chunk, tie)
        else:
            sql, params = candidates_sql(org_id, query, span, after, chunk, tie, within)
        return [parse_candidate(r) for r in engine.execute(sql, params)]

    kept: dict[str, lookups.RowKey] = {}  # check id -> its newest result's row, in page order
    # room for rows not kept: rare in a party's rows (FINAL; only a check whose party changed),
    # common in check_results (every earlier version of a check, redelivered rows)
    after, tie = cursor, None
    chunk = min(want + (want // 8 if lookup else want // 2) + 4, lookups.MAX_CHUNK)
    while len(kept) < want:
        picked = candidates(after, chunk, tie)
        if not picked:
            break
        pairs = sorted({(c.requested_date, c.check_id) for c in picked})
        sql, params = lookups.versions_sql(org_id, pairs, refs=lookup is None)
        newest = {n.check_id: n for n in map(lookups.parse_newest, engine.execute(sql, params))}
        for c in picked:
            n = newest.get(c.check_id)
            if n is None or n.version != c.version or c.check_id in kept:
                continue
            party, ref = (lookup.party, c.tie) if lookup is not None else n.key
            kept[c.check_id] = lookups.RowKey(
                party, ref, c.requested_at, c.requested_date, c.check_id, c.version
            )
        if len(picked) < chunk:
            break
        after, tie = picked[-1].cursor(query), picked[-1].tie
        chunk = min(chunk * 4, lookups.MAX_CHUNK)
    return _rows_of(engine, org_id, query, span, list(kept.values())[:want])


def _rows_of(
    engine: Engine, org_id: str, query: HistoryQuery, span: TimeRange, keys: list[lookups.RowKey]
) -> list[dict[str, Any]]:
    """The rows of these newest results, in order: from check_party_rows by key (MAX_KEYS a query);
    one not there yet (its copy is written just after check_results' row) from check_results."""
    versions = {k.check_id: k.version for k in keys}
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), lookups.MAX_KEYS):
        sql, params = lookups.party_rows_sql(org_id, keys[start : start + lookups.MAX_KEYS])
        rows = map(parse_row, engine.execute(sql, params))
        found |= {i["check_id"]: i for i in rows if versions.get(i["check_id"]) == i["result_version"]}
    missing = [(k.requested_date, k.check_id) for k in keys if k.check_id not in found]
    for start in range(0, len(missing), lookups.MAX_CHUNK):
        part = missing[start : start + lookups.MAX_CHUNK]
        sql, params = lookups.rows_sql(org_id, query, span, part, len(part))
        found |= {item["check_id"]: item for item in map(parse_row, engine.execute(sql, params))}
    return [found[k.check_id] for k in keys if k.check_id in found]


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
