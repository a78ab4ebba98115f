"""The history's selective filters through lookup tables, instead of a column scan.

ClickHouse 18.16 has no data-skipping indexes: a filter on the invoice number or a seller reads that
column over the whole range. `check_numbers` (migration 011) holds the checks ordered by (organisation,
number, code, request time, check id): a page first takes the next few (request time, check id) of the
matching checks from there, newest first, then reads only those checks from check_results
(`(requested_date, check_id) IN <literal pairs>` lets the primary key skip to their granules), each
at its newest result (FINAL), with every filter applied to that.

`check_party_rows` (013) is a copy of the history's columns, one row per party a result names (one
under party '' when it names none), ordered by (organisation, party, pseudonym, request time, check
id) in 256-row granules. A seller's or buyer's page takes its candidates from there
(`party_candidates_sql`: a party's rows are a short range), pages of the other sorts from
check_results without FINAL (fapiao.analytics.history.candidates_sql). Either way a candidate is kept
only when its version is its check's newest (`versions_sql`, narrow columns of check_results), and the
kept rows' columns are read from check_party_rows by key (`party_rows_sql`). A party-table row is the
newest result of its check that named that party (FINAL); when the versions differ, the check's newest
result names another party or none, and the filter does not keep it. Reasoning: docs/analytics.md.
Pure: `fapiao.warehouse.history` runs it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fapiao.analytics.filters import RANGE_CONDITIONS, CheckFilters, Compiled, TimeRange, compile_filters
from fapiao.analytics.history import (
    SELECT_FIELDS,
    Cursor,
    HistoryQuery,
    Order,
    after_cursor,
    candidate_columns,
    order_by,
)

PARTY_ROWS = "check_party_rows"

# Literal lists travel in the SQL text, which ClickHouse parses up to max_query_size (256 KiB by
# default): at most MAX_CHUNK (date, check id) pairs (~64 bytes each) and MAX_KEYS party-row keys
# (~150 bytes each) per query.
MAX_CHUNK = 2048
MAX_KEYS = 1000


@dataclass(frozen=True)
class Lookup:
    """A lookup table and the conditions on it that match a filter (bound parameters)."""

    table: str
    conditions: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    party: str = ""  # check_party_rows: 'seller' or 'buyer'

    @property
    def covers(self) -> bool:
        """Whether the table holds the history's columns (candidates: `party_candidates_sql`)."""
        return self.table == PARTY_ROWS


def choose(f: CheckFilters) -> Lookup | None:
    """The most selective lookup the filters allow: the invoice number, else the seller's or buyer's
    pseudonyms (a tax id, or the parties whose names match: `seller_refs`, fapiao.analytics.reveal);
    None when none applies."""
    if f.invoice_number is not None:
        conditions = ["invoice_number = %(lk_number)s"]
        params: dict[str, Any] = {"lk_number": f.invoice_number}
        if f.invoice_code is not None:
            conditions.append("invoice_code = %(lk_code)s")
            params["lk_code"] = f.invoice_code
        return Lookup("check_numbers", tuple(conditions), params)
    for party in ("seller", "buyer"):
        refs = getattr(f, f"{party}_refs")
        if refs:
            conditions = [f"party = '{party}'", "ref IN %(lk_refs)s"]
            return Lookup(PARTY_ROWS, tuple(conditions), {"lk_refs": tuple(refs)}, party)
    return None


def candidates_sql(
    org_id: str, lookup: Lookup, span: TimeRange, cursor: Cursor | None, order: Order, limit: int
) -> tuple[str, dict[str, Any]]:
    """The next `limit` matching checks after the cursor, in the history's time order: rows of
    (requested_date, check_id, requested_at) as text. GROUP BY: rows not yet collapsed count once."""
    direction = "DESC" if order is Order.DESC else "ASC"
    where = ["org_id = %(org_id)s", *lookup.conditions, *RANGE_CONDITIONS]
    params: dict[str, Any] = {"org_id": org_id, **span.params(), **lookup.params, "lk_limit": int(limit)}
    if cursor is not None:
        op = "<" if order is Order.DESC else ">"
        at = "toDateTime(%(cursor_value)s, 'UTC')"
        where.append(
            f"(requested_at {op} {at} OR (requested_at = {at} AND toString(check_id) {op} %(cursor_id)s))"
        )
        params |= {"cursor_value": cursor.value, "cursor_id": cursor.check_id}
    sql = (
        "SELECT toString(requested_date), toString(check_id), toString(requested_at) "
        f"FROM {lookup.table} WHERE {' AND '.join(where)} GROUP BY requested_date, check_id, requested_at "
        f"ORDER BY requested_at {direction}, toString(check_id) {direction} LIMIT %(lk_limit)s"
    )
    return sql, params


def pairs_sql(org_id: str, lookup: Lookup, span: TimeRange) -> tuple[str, dict[str, Any]]:
    """Every matching (requested_date, check_id) of the range, as a subquery for an IN."""
    where = " AND ".join(("org_id = %(org_id)s", *lookup.conditions, *RANGE_CONDITIONS))
    params = {"org_id": org_id, **span.params(), **lookup.params}
    return f"SELECT requested_date, check_id FROM {lookup.table} WHERE {where}", params


def pairs_literal(pairs: Sequence[tuple[str, str]]) -> str:
    """`(toDate('…'), toUUID('…')), …` from (date, check id) texts, each parsed first (so only a date
    and a UUID can reach the SQL); typed literals, which 18.16's primary key analysis uses."""
    if not pairs:
        return "(toDate('1970-01-01'), toUUID('00000000-0000-0000-0000-000000000000'))"
    return ", ".join(
        f"(toDate('{date.fromisoformat(d).isoformat()}'), toUUID('{uuid.UUID(c)}'))" for d, c in pairs
    )


def rows_sql(
    org_id: str, query: HistoryQuery, span: TimeRange, pairs: Sequence[tuple[str, str]], limit: int
) -> tuple[str, dict[str, Any]]:
    """The newest result of the listed checks that pass every filter, in the query's order, at most
    `limit`."""
    compiled = compile_filters(org_id, query.filters, span)
    pre, post, params = list(compiled.prewhere), list(compiled.where), dict(compiled.params)
    pre.append(f"(requested_date, check_id) IN ({pairs_literal(pairs)})")
    params["limit"] = int(limit)
    # FINAL, not `LIMIT 1 BY check_id` in a subquery (which reads on every core on 18.16, FINAL on
    # one): ClickHouse 26 (chdb) then remembered the subquery's PREWHERE as matching nothing after
    # a query whose outer WHERE kept nothing (its query condition cache), and lost rows later.
    clauses = Compiled(tuple(pre), tuple(post)).clauses(final=True)
    return f"SELECT {SELECT_FIELDS} FROM check_results FINAL {clauses} {order_by(query)}", params


def party_candidates_sql(
    org_id: str,
    query: HistoryQuery,
    lookup: Lookup,
    span: TimeRange,
    cursor: Cursor | None,
    limit: int,
    tie: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The next `limit` rows of check_party_rows (FINAL: a party's newest result of each check)
    passing every filter, in the query's order after `cursor`, as candidates (narrow columns).

    A check may have rows under several of the lookup's pseudonyms (its seller changed between
    results), so `ref` orders them after the check id, and `tie` (the cursor row's `ref`) continues
    among them; the API's cursor is always after a whole check (no `tie`).
    """
    compiled = compile_filters(org_id, query.filters, span)
    params = {**compiled.params, **lookup.params, "limit": int(limit)}
    post = list(compiled.where)
    if cursor is not None:
        after, after_params = after_cursor(query, cursor, None if tie is None else ("ref", tie))
        post.append(after)
        params |= after_params
    clauses = Compiled((*compiled.prewhere, *lookup.conditions), tuple(post)).clauses(final=True)
    columns = candidate_columns(query, "ref")
    return f"SELECT {columns} FROM {lookup.table} FINAL {clauses} {order_by(query, 'ref')}", params


def versions_sql(
    org_id: str, pairs: Sequence[tuple[str, str]], refs: bool = False
) -> tuple[str, dict[str, Any]]:
    """The newest result version of each listed (requested_date, check_id) — with `refs`, its
    pseudonyms too (`parse_newest`) — from their granules of check_results, narrow columns, no FINAL.
    Each check costs a granule of 8,192 rows: the pseudonyms (64 bytes each) double its time, so
    they are read only when a row's key in check_party_rows is not known already."""
    select = "toString(check_id), max(result_version)"
    if refs:
        select += ", argMax(seller_ref, result_version), argMax(buyer_ref, result_version)"
    sql = (
        f"SELECT {select} FROM check_results PREWHERE org_id = %(org_id)s "
        f"AND (requested_date, check_id) IN ({pairs_literal(pairs)}) GROUP BY check_id"
    )
    return sql, {"org_id": org_id}


@dataclass(frozen=True)
class Newest:
    """A check's newest result version in check_results (and its pseudonyms, when read)."""

    check_id: str
    version: int
    seller_ref: str = ""
    buyer_ref: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """(party, pseudonym) its row is under in check_party_rows: the seller's, else the buyer's,
        else ('', '') (as migration 013's view writes them)."""
        if self.seller_ref:
            return "seller", self.seller_ref
        if self.buyer_ref:
            return "buyer", self.buyer_ref
        return "", ""


def parse_newest(row: Sequence[Any]) -> Newest:
    return Newest(str(row[0]), int(row[1]), *(str(ref) for ref in row[2:]))


@dataclass(frozen=True)
class RowKey:
    """Where a result row is in check_party_rows (its key and partition), and its version."""

    party: str
    ref: str
    requested_at: str
    requested_date: str
    check_id: str
    version: int


_PARTIES = ("seller", "buyer", "")
_REF = re.compile(r"^([0-9a-f]{64})?$")


def party_rows_sql(org_id: str, keys: Sequence[RowKey]) -> tuple[str, dict[str, Any]]:
    """The history's columns of these result rows, from check_party_rows by key (FINAL: the newest
    row under the key, which is this one when it is its check's newest): granules of 256 rows, in
    the partitions of the days named only. Every part of a key is parsed first (a party, a
    pseudonym, a time, a UUID), so nothing else reaches the SQL."""
    literals = []
    for k in keys:
        if k.party not in _PARTIES or not _REF.match(k.ref):
            raise ValueError(f"not a party key: {k.party!r}, {k.ref!r}")
        at = datetime.strptime(k.requested_at[:19], "%Y-%m-%d %H:%M:%S")
        check = uuid.UUID(k.check_id)
        literals.append(
            f"('{k.party}', '{k.ref}', toDateTime('{at:%Y-%m-%d %H:%M:%S}', 'UTC'), toUUID('{check}'))"
        )
    days = ", ".join(sorted({f"toDate('{date.fromisoformat(k.requested_date[:10])}')" for k in keys}))
    sql = (
        f"SELECT {SELECT_FIELDS} FROM {PARTY_ROWS} FINAL PREWHERE org_id = %(org_id)s "
        f"AND requested_date IN ({days}) AND (party, ref, requested_at, check_id) IN ({', '.join(literals)})"
    )
    return sql, {"org_id": org_id}
