"""Remembers rollup unit counts ahead of the dashboards, so no first request merges a year of sets.

A trend reads each rollup unit's exact check count from `rollup_counts` when it was remembered at
the unit's current row count, and otherwise merges the unit's check set (seconds for a year of 10M
checks: docs/analytics.md). This pass does that merging in the background — for every organisation
with checks in the last N days, for the rollups and dimensions the dashboards and the period report
read (total, verdict, region, type) in 30-day slices from the oldest, so each query stays small, and
for the top sellers of the last 30 and 365 days.
Repeated, it only merges the units that gained rows since (recent hours and days): cheap. The
worker's leader runs it every `analytics_warm_seconds` (streams/count_warmer.py); `fapiao db
warm-counts` runs it once (after a migration or a bulk load).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta

from fapiao.analytics.catalog import Bucket, Dimension
from fapiao.analytics.filters import local_midnight, utc_text
from fapiao.analytics.trends import MAX_TOP, TrendQuery
from fapiao.warehouse.engine import Engine
from fapiao.warehouse.trends import remember_units

DIMENSIONS: tuple[Dimension | None, ...] = (None, Dimension.VERDICT, Dimension.REGION, Dimension.TYPE)
SLICE_DAYS = 30
# Seller trends are top-N: their units are warmed for the dashboards' usual periods (the last 30 and
# 365 days) and the MAX_TOP busiest sellers of each, which holds any smaller top of the same period.
RANKED_DAYS = (30, 365)


@dataclass(frozen=True)
class Warmed:
    organisations: int
    slices: int
    seconds: float


def slices(today: date, days: int) -> list[tuple[date, date]]:
    """Consecutive (first, last) day ranges of at most SLICE_DAYS covering the `days` up to today,
    oldest first (a slice's previous period is then the slice before, already remembered)."""
    first = today - timedelta(days=days - 1)
    out = []
    while first <= today:
        last = min(today, first + timedelta(days=SLICE_DAYS - 1))
        out.append((first, last))
        first = last + timedelta(days=1)
    return out


def active_organisations(engine: Engine, since: date) -> list[str]:
    rows = engine.execute(
        "SELECT DISTINCT org_id FROM checks_hourly "
        "WHERE hour >= toDateTime(%(since)s, 'UTC') ORDER BY org_id",
        {"since": utc_text(local_midnight(since))},
    )
    return [str(r[0]) for r in rows]


def warm_counts(engine: Engine, today: date, days: int, org_ids: list[str] | None = None) -> Warmed:
    """Remember the unit counts of the last `days` days (and the previous period of the oldest slice)
    for these organisations, or every organisation with checks in that time."""
    started = time.monotonic()
    parts = slices(today, days)
    orgs = org_ids if org_ids is not None else active_organisations(engine, parts[0][0])
    for org in orgs:
        for first, last in parts:
            for dimension in DIMENSIONS:
                remember_units(engine, org, TrendQuery(first, last, Bucket.DAY, dimension))
        for period in (d for d in RANKED_DAYS if d <= days):
            first = today - timedelta(days=period - 1)
            remember_units(engine, org, TrendQuery(first, today, Bucket.WEEK, Dimension.SELLER, MAX_TOP))
    return Warmed(len(orgs), len(parts), time.monotonic() - started)
