"""From rollup units to trend rows: which unit counts are still cached, and adding units into buckets.

A unit is an hour (checks_hourly, UTC) or a Shanghai day (the daily rollups) of one dimension value and
vkey. Its exact number of checks comes from merging its check set, or from `rollup_counts` when that
entry was computed at the same number of result rows (rows are only ever added, so an equal count
means an equal set). Pure: `fapiao.warehouse.trends` runs the queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fapiao.analytics.catalog import ANALYTICS_TZ, Bucket
from fapiao.analytics.trends import Source, TrendQuery, cache_source

_LOCAL = ZoneInfo(ANALYTICS_TZ)
Key = tuple[str, str, str]  # (unit, dim, vkey)


@dataclass(frozen=True)
class Unit:
    unit: str  # 'YYYY-MM-DD HH:MM:SS' (UTC hour) or 'YYYY-MM-DD' (Shanghai day)
    dim: str
    vkey: str
    name: str
    results: int
    total: Decimal

    @property
    def key(self) -> Key:
        return self.unit, self.dim, self.vkey


def parse_units(rows: Iterable[Sequence[Any]]) -> list[Unit]:
    return [Unit(str(u), str(d), str(v), str(n or ""), int(r), Decimal(str(t))) for u, d, v, n, r, t in rows]


@dataclass
class Known:
    """What rollup_counts still validly says: exact check counts, and recomputed 一致 amounts."""

    counts: dict[Key, int]
    amounts: dict[Key, Decimal]


def split_cached(units: list[Unit], cached: Iterable[Sequence[Any]]) -> tuple[Known, list[Unit]]:
    """(what is known at the units' current row counts, the units whose sets must be merged)."""
    entries = {(str(u), str(d), str(v)): (int(r), int(n), str(a)) for u, d, v, r, n, a in cached}
    known = Known({}, {})
    missing = []
    for unit in units:
        entry = entries.get(unit.key)
        if entry is None or entry[0] != unit.results:
            missing.append(unit)
            continue
        known.counts[unit.key] = entry[1]
        if entry[2]:
            known.amounts[unit.key] = Decimal(entry[2])
    return known, missing


def cache_rows(org_id: str, query: TrendQuery, units: list[Unit], known: Known) -> list[tuple[Any, ...]]:
    """rollup_counts rows (CACHE_COLUMNS order) of these units, with what is known of them."""
    source = cache_source(query)
    rows = []
    for u in units:
        if u.key not in known.counts:
            continue
        amount = known.amounts.get(u.key)
        flag = int(amount is not None)
        checks = known.counts[u.key]
        month = int(u.unit[:4] + u.unit[5:7])
        row = (org_id, source, month, u.unit, u.dim, u.vkey, u.results, checks, amount or Decimal(0), flag)
        rows.append((*row, u.results * 2 + flag))
    return rows


def _bucket(query: TrendQuery, unit: str) -> tuple[str, bool]:
    """(the bucket key, whether the unit is in the current period) of a unit."""
    if query.source is Source.HOURLY:
        moment = datetime.strptime(unit[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).astimezone(_LOCAL)
        day, current = moment.date(), moment.date() >= query.date_from
        if query.bucket is Bucket.HOUR:
            return moment.strftime("%Y-%m-%d %H:00:00"), current
    else:
        day = date.fromisoformat(unit[:10])
        current = day >= query.date_from
    if query.bucket is Bucket.WEEK:
        day -= timedelta(days=day.weekday())
    elif query.bucket is Bucket.MONTH:
        day = day.replace(day=1)
    return day.isoformat(), current


def bucket_rows(query: TrendQuery, units: list[Unit], known: Known) -> list[tuple[Any, ...]]:
    """Rows of (bucket, period, dim, name, checks, 一致, 不一致, amount, units to fix), as build_trend reads.

    A unit whose 一致 rows outnumber its 一致 checks had a check written twice there: its amount is the
    remembered recomputed one, or, not known yet, left out and listed to be recomputed.
    """
    counts = known.counts
    by_verdict = query.dimension is not None and query.dimension.value == "verdict"
    out: dict[tuple[str, str, str], list[Any]] = {}
    for unit in units:
        bucket, current = _bucket(query, unit.unit)
        row = out.setdefault(
            (bucket, "current" if current else "previous", unit.dim),
            [unit.name, 0, 0, 0, Decimal("0.00"), []],
        )
        row[0] = row[0] or unit.name
        checks = counts.get(unit.key, 0)
        if by_verdict or unit.vkey == "*":
            row[1] += checks
        if unit.vkey == "consistent":
            row[2] += checks
            if unit.results <= checks:
                row[4] += unit.total
            elif unit.key in known.amounts:
                row[4] += known.amounts[unit.key]
            else:
                row[5].append(unit.unit)
        elif unit.vkey == "inconsistent":
            row[3] += checks
    return [(b, p, d, *values) for (b, p, d), values in out.items()]
