"""Computes the rollup units' exact figures ahead of the dashboards, so no first request does it.

A trend reads each unit's figures from `unit_figures` when they were computed at the unit's current
fingerprint, and otherwise computes them from check_results FINAL (seconds for a year of 10M checks:
docs/analytics.md). This pass does that in the background — for every organisation with checks in
the last N days, for every rollup the dashboards and the period report read (total and verdict,
region, type, seller, requester) in 30-day slices from the oldest, so each query stays small.
Repeated, it only computes the units that got rows since (recent hours and days): cheap. The
worker's leader runs it every `analytics_warm_seconds` (streams/count_warmer.py); `fapiao db
warm-counts` runs it once (after a migration or a bulk load).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta

from fapiao.analytics.catalog import Bucket, Dimension
from fapiao.analytics.filters import local_midnight, utc_text
from fapiao.analytics.trends import TrendQuery
from fapiao.warehouse.engine import Engine
from fapiao.warehouse.trends import remember_units

# one per rollup: the verdict trend reads the hourly units of the total; seller and requester units
# are computed for every seller and requester of a day (rankings need them all)
DIMENSIONS: tuple[Dimension | None, ...] = (
    None, Dimension.REGION, Dimension.TYPE, Dimension.SELLER, Dimension.REQUESTER,
)  # fmt: skip
SLICE_DAYS = 30


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
    """Compute the unit figures of the last `days` days (and the previous period of the oldest slice)
    for these organisations, or every organisation with checks in that time."""
    started = time.monotonic()
    parts = slices(today, days)
    orgs = org_ids if org_ids is not None else active_organisations(engine, parts[0][0])
    for org in orgs:
        for first, last in parts:
            for dimension in DIMENSIONS:
                remember_units(engine, org, TrendQuery(first, last, Bucket.DAY, dimension))
    return Warmed(len(orgs), len(parts), time.monotonic() - started)
