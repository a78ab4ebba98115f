"""Runs trend queries (fapiao.analytics.trends) and shapes them into series."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fapiao.analytics import units as unit_counts
from fapiao.analytics.series import Trend, build_trend
from fapiao.analytics.trend_sql import (
    CACHE_COLUMNS,
    SELLER_NAMES_SQL,
    alerts_sql,
    amount_fix_sql,
    cached_sql,
    raw_sql,
    sets_sql,
    top_sql,
    trend_sql,
    unit_dates,
    unit_sql,
)
from fapiao.analytics.trends import Source, TrendQuery, cache_source
from fapiao.warehouse.engine import Engine


def fetch_trend(engine: Engine, org_id: str, query: TrendQuery) -> Trend:
    """An organisation's trend. Rollup units' exact counts (and recomputed amounts) are taken from
    `rollup_counts` when it has them at the units' current row counts, else computed and remembered."""
    params = query.params(org_id) | {"cache_source": cache_source(query)}
    if query.ranked:
        top = engine.execute(top_sql(query), params | {"top": query.top})
        if not top:
            return build_trend(query, [], [])
        params["top_keys"] = tuple(str(row[0]) for row in top)
    if query.source is Source.RAW:
        main = engine.execute(raw_sql(query), params)
        fixes = _amount_fixes(engine, query, params, sorted({str(u) for row in main for u in row[8]}))
    else:
        main, fixes = _rollup_rows(engine, org_id, query, params)
        if query.source is Source.SELLERS:  # labels: the sellers' envelopes, opened by the API
            names = {str(k): str(n) for k, n in engine.execute(SELLER_NAMES_SQL, params)}
            main = [(*row[:3], names.get(str(row[2]), ""), *row[4:]) for row in main]
    return build_trend(query, main, engine.execute(alerts_sql(query), params), fixes)


def remember_units(engine: Engine, org_id: str, query: TrendQuery) -> None:
    """Make sure rollup_counts knows every unit of the query's rollup and periods at its current rows
    (what a trend's first call does on the way; for ranked queries, of its top values), without
    shaping a trend: for count_warmer."""
    if query.source is Source.RAW:
        raise ValueError("hour buckets of region, type, seller or requester read check_results")
    params = query.params(org_id) | {"cache_source": cache_source(query)}
    if query.ranked:
        top = engine.execute(top_sql(query), params | {"top": query.top})
        if not top:
            return
        params["top_keys"] = tuple(str(row[0]) for row in top)
    _rollup_rows(engine, org_id, query, params)


def _amount_fixes(
    engine: Engine, query: TrendQuery, params: dict[str, Any], units: list[str]
) -> dict[tuple[str, str], Decimal]:
    if not units:
        return {}
    fix = params | {"units": tuple(units), "unit_dates": unit_dates(query, units)}
    return {(str(u), str(d)): Decimal(str(a)) for u, d, a in engine.execute(amount_fix_sql(query), fix)}


def _rollup_rows(
    engine: Engine, org_id: str, query: TrendQuery, params: dict[str, Any]
) -> tuple[list[tuple[Any, ...]], dict[tuple[str, str], Decimal]]:
    """Usually one query over the rollup and rollup_counts; when some units' counts (or amounts) are
    not known at their current row counts, they are computed and remembered first."""
    rows = engine.execute(trend_sql(query), params)
    if not any(row[8] or row[9] for row in rows):
        return [tuple(row[:9]) for row in rows], {}
    units = unit_counts.parse_units(engine.execute(unit_sql(query), params))
    known, missing = unit_counts.split_cached(units, engine.execute(cached_sql(query), params))
    if missing:
        wanted = tuple(sorted({u.unit for u in missing}))
        for unit, dim, vkey, checks in engine.execute(sets_sql(query), params | {"units": wanted}):
            known.counts[(str(unit), str(dim), str(vkey))] = int(checks)
    main = unit_counts.bucket_rows(query, units, known)
    fixes = _amount_fixes(engine, query, params, sorted({str(u) for row in main for u in row[8]}))
    learned = [u for u in units if u.vkey == "consistent" and (u.unit, u.dim) in fixes]
    for unit in learned:
        known.amounts[unit.key] = fixes[(unit.unit, unit.dim)]
    remember = {u.key: u for u in [*missing, *learned]}
    cached = unit_counts.cache_rows(org_id, query, list(remember.values()), known)
    if cached:
        engine.insert("rollup_counts", CACHE_COLUMNS, cached)
    return main, fixes
