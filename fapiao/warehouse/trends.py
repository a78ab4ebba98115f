"""Runs trend queries (fapiao.analytics.trends) and shapes them into series.

Rollup trends read each unit's exact figures from `unit_figures` when they were computed at the
unit's current fingerprint, and otherwise compute them from `check_results FINAL` and remember them
(fapiao.analytics.units). Rankings (top sellers and requesters) and the riskiest sellers read the
same figures, so every number and every order counts each check once, at its newest result, however
often its rows were delivered.
"""

from __future__ import annotations

from typing import Any

from fapiao.analytics import units as unit_figures
from fapiao.analytics.ranking import exact_top
from fapiao.analytics.series import Trend, build_trend
from fapiao.analytics.trend_sql import (
    ALL_CHECKS_SQL,
    EXACT_CHECKS_SQL,
    FINGERPRINT_SQL,
    MARKERS_SQL,
    alerts_sql,
    bounds_sql,
    compute_sql,
    figures_sql,
    raw_sql,
    unit_dates,
)
from fapiao.analytics.trends import Source, TrendQuery, cache_source
from fapiao.warehouse.engine import Engine

# units computed per query: their literal lists stay well under max_query_size
_CHUNK = 400
_KEYS = 1000  # pseudonyms per query (64 characters each)


def fetch_trend(engine: Engine, org_id: str, query: TrendQuery) -> Trend:
    """An organisation's trend: exact figures per unit (computed where stale), added into buckets."""
    params = query.params(org_id) | {"cache_source": cache_source(query)}
    if query.source is Source.RAW:
        if query.ranked:
            params["top_keys"] = _top(engine, org_id, query, params)
            if not params["top_keys"]:
                return build_trend(query, [], [])
        main = engine.execute(raw_sql(query), params)
    else:
        remember_units(engine, org_id, query)
        if query.ranked:
            params["top_keys"] = _top_of_known(engine, query, params)
            if not params["top_keys"]:
                return build_trend(query, [], [])
        figures = unit_figures.valid_figures(engine.execute(figures_sql(query), params))
        main = unit_figures.bucket_rows(query, figures)
    return build_trend(query, main, engine.execute(alerts_sql(query), params))


def remember_units(engine: Engine, org_id: str, query: TrendQuery) -> int:
    """Make sure unit_figures holds every unit of the query's rollup and periods at its current
    fingerprint (every dimension value of it), computing the stale ones; returns how many were. What
    a trend's first call does on the way, and what count_warmer does ahead."""
    if query.source is Source.RAW:
        raise ValueError("hour buckets of region, type, seller or requester read check_results")
    params = query.params(org_id) | {"cache_source": cache_source(query)}
    # the server's clock before the fingerprints are read: names this computation in every row it
    # writes (one value, however many inserts), and orders it after any that began earlier
    began = int(engine.execute("SELECT toUInt32(now())")[0][0])
    current, stale = _stale(engine, query, params)
    for start in range(0, len(stale), _CHUNK):
        chunk = stale[start : start + _CHUNK]
        wanted = params | {"units": tuple(chunk), "unit_dates": unit_dates(query, chunk)}
        computed = unit_figures.figures_of(query.source, engine.execute(compute_sql(query), wanted))
        rows = unit_figures.figure_rows(
            org_id, cache_source(query), {u: current[u] for u in chunk}, computed, began
        )
        engine.insert("unit_figures", unit_figures.FIGURE_COLUMNS, rows)
    return len(stale)


def stale_units(engine: Engine, org_id: str, query: TrendQuery) -> list[str]:
    """The units of the query's rollup and periods whose figures a trend would compute first."""
    return _stale(engine, query, query.params(org_id) | {"cache_source": cache_source(query)})[1]


def _stale(engine: Engine, query: TrendQuery, params: dict[str, Any]) -> tuple[dict[str, int], list[str]]:
    current = unit_figures.fingerprints(query.source, engine.execute(FINGERPRINT_SQL, params))
    return current, unit_figures.stale(current, engine.execute(MARKERS_SQL, params))


def _top_of_known(engine: Engine, query: TrendQuery, params: dict[str, Any]) -> tuple[str, ...]:
    """The top sellers or requesters of the period by exact checks (its units known): candidates by
    their rollup row counts, which never undercount (fapiao.analytics.ranking)."""

    def bounds(offset: int, count: int) -> list[tuple[str, int]]:
        rows = engine.execute(bounds_sql(query), params | {"offset": offset, "count": count})
        return [(str(k), int(n)) for k, n in rows]

    def exact(keys: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(keys), _KEYS):  # literal lists under max_query_size
            wanted = tuple(keys[start : start + _KEYS])
            found |= {str(k): int(n) for k, n in engine.execute(EXACT_CHECKS_SQL, params | {"keys": wanted})}
        return found

    def everything() -> dict[str, int]:
        return {str(k): int(n) for k, n in engine.execute(ALL_CHECKS_SQL, params | {"top": query.top})}

    top = exact_top(bounds, exact, query.top, first_page=4 * query.top, everything=everything, rounds=2)
    return tuple(key for key, _ in top)


def _top(engine: Engine, org_id: str, query: TrendQuery, params: dict[str, Any]) -> tuple[str, ...]:
    """The top values of an hour-bucketed seller/requester trend: ranked like the daily trend of the
    same days (whose units are made known first), so both show the same series."""
    daily = TrendQuery(query.date_from, query.date_to, dimension=query.dimension, top=query.top)
    remember_units(engine, org_id, daily)
    return _top_of_known(engine, daily, daily.params(org_id) | {"cache_source": cache_source(daily)})
