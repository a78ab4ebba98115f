"""The history's selective filters through lookup tables, instead of a column scan.

ClickHouse 18.16 has no data-skipping indexes: a filter on the invoice number or a seller reads that
column over the whole range. `check_numbers` (migration 011) and `check_parties` (012) hold the same
checks ordered by (organisation, number or party pseudonym, request time, check id), so a page first
takes the next few (request time, check id) of the matching checks from there, newest first, then
reads only those checks from check_results (`(requested_date, check_id) IN <literal pairs>` lets the
primary key skip to their granules), each at its newest result (FINAL), with every filter applied
to that. A party table row says only that SOME result of the
check named that party (a seller can first appear in a later result), so the lookup narrows, it
never decides. Pure: `fapiao.warehouse.history` runs it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fapiao.analytics.filters import RANGE_CONDITIONS, CheckFilters, Compiled, TimeRange, compile_filters
from fapiao.analytics.history import FIELDS, Cursor, HistoryQuery, Order, after_cursor, order_by

MAX_CHUNK = 4096  # candidates per read (the IN list is literal SQL)


@dataclass(frozen=True)
class Lookup:
    """A lookup table and the conditions on it that match a filter (bound parameters)."""

    table: str
    conditions: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)


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
            return Lookup("check_parties", tuple(conditions), {"lk_refs": tuple(refs)})
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
    org_id: str,
    query: HistoryQuery,
    span: TimeRange,
    pairs: Sequence[tuple[str, str]] | None,
    limit: int,
    *,
    subquery: tuple[str, dict[str, Any]] | None = None,
    cursor: Cursor | None = None,
    ids_only: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The newest result of the listed checks (`pairs`, or those of a `subquery`) that pass every
    filter, in the query's order, at most `limit` (after `cursor`, for the other sorts)."""
    compiled = compile_filters(org_id, query.filters, span)
    pre, post, params = list(compiled.prewhere), list(compiled.where), dict(compiled.params)
    if subquery is not None:
        pre.append(f"(requested_date, check_id) IN ({subquery[0]})")
        params |= subquery[1]
    else:
        pre.append(f"(requested_date, check_id) IN ({pairs_literal(pairs or ())})")
    if cursor is not None:
        after, after_params = after_cursor(query, cursor)
        post.append(after)
        params |= after_params
    params["limit"] = int(limit)
    # FINAL, not `LIMIT 1 BY check_id` in a subquery (which reads on every core on 18.16, FINAL on
    # one): ClickHouse 26 (chdb) then remembered the subquery's PREWHERE as matching nothing after
    # a query whose outer WHERE kept nothing (its query condition cache), and lost rows later.
    clauses = Compiled(tuple(pre), tuple(post)).clauses(final=True)
    select = "toString(check_id)" if ids_only else ", ".join(sql for _, sql in FIELDS)
    sql = f"SELECT {select} FROM check_results FINAL {clauses} {order_by(query)}"
    return sql, params
