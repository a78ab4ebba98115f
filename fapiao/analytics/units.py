"""From rollup units to trend rows: which units' exact figures are still valid, and adding units up.

A unit is an hour (the total and verdict trends, UTC hours) or an Asia/Shanghai day (region, type,
seller and requester trends). Its figures — per dimension value and vkey (the newest verdict, '*' for
every check, '!' for a problem verdict), the checks and their 价税合计 — are computed from
`check_results FINAL` (each check once, at its newest result; redelivered rows collapse) and kept in
`unit_figures` (migration 016) together with the unit's fingerprint: its result rows in
`checks_hourly` (every inserted row, redelivered or re-versioned, adds one; a check's hour never
changes). Equal fingerprint, equal figures: a unit that got no row since is read, one that did is
computed again. Pure: `fapiao.warehouse.trends` runs the queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fapiao.analytics.catalog import ANALYTICS_TZ, Bucket
from fapiao.analytics.trends import Source, TrendQuery
from schemas.events import Verdict

_LOCAL = ZoneInfo(ANALYTICS_TZ)
PROBLEM_VERDICTS = (
    Verdict.INCONSISTENT,
    Verdict.VOIDED,
    Verdict.RED_FLUSHED_PARTIAL,
    Verdict.RED_FLUSHED_FULL,
    Verdict.ABNORMAL,
)
_PROBLEMS = frozenset(v.value for v in PROBLEM_VERDICTS)
MARKER = ("", "")  # (dim, vkey) of a unit's marker row: its fingerprint when its figures were computed
FIGURE_COLUMNS = (
    "org_id", "source", "month", "unit", "dim", "vkey", "fingerprint", "checks", "amount", "name",
    "computed_at",
)  # fmt: skip


@dataclass(frozen=True)
class Figure:
    unit: str  # 'YYYY-MM-DD HH:MM:SS' (UTC hour) or 'YYYY-MM-DD' (Shanghai day)
    dim: str
    vkey: str
    checks: int
    amount: Decimal
    name: str = ""


def unit_of_hour(source: Source, hour: str) -> str:
    """The unit holding a UTC hour ('YYYY-MM-DD HH:MM:SS'): itself, or its Shanghai day."""
    if source is Source.HOURLY:
        return hour[:19]
    moment = datetime.strptime(hour[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return moment.astimezone(_LOCAL).date().isoformat()


def fingerprints(source: Source, hour_rows: Iterable[Sequence[Any]]) -> dict[str, int]:
    """Unit -> its result rows, from checks_hourly's (hour, rows) under vkey '*'. Units without rows
    have no checks and are absent."""
    out: dict[str, int] = {}
    for hour, rows in hour_rows:
        unit = unit_of_hour(source, str(hour))
        out[unit] = out.get(unit, 0) + int(rows)
    return out


def stale(current: dict[str, int], markers: Iterable[Sequence[Any]]) -> list[str]:
    """The units whose figures were not computed at their current fingerprint (sorted)."""
    known = {str(u): int(f) for u, f in markers}
    return sorted(u for u, f in current.items() if known.get(u) != f)


def figures_of(source: Source, computed: Iterable[Sequence[Any]]) -> list[Figure]:
    """Figures from (unit, dim, newest verdict, checks, 价税合计, name) rows of check_results FINAL:
    each verdict, '*' (all of them) and, for sellers, '!' (the problem verdicts)."""
    sums: dict[tuple[str, str, str], list[Any]] = {}
    for unit, dim, verdict, checks, amount, name in computed:
        vkeys = [str(verdict), "*"]
        if source is Source.SELLERS and str(verdict) in _PROBLEMS:
            vkeys.append("!")
        for vkey in vkeys:
            entry = sums.setdefault((str(unit), str(dim), vkey), [0, Decimal("0.00"), ""])
            entry[0] += int(checks)
            entry[1] += Decimal(str(amount))
            entry[2] = entry[2] or str(name or "")
    return [Figure(u, d, v, n, a, name) for (u, d, v), (n, a, name) in sums.items()]


def _month(unit: str) -> int:
    return int(unit[:4] + unit[5:7])


def figure_rows(
    org_id: str, source_name: str, units: dict[str, int], figures: Iterable[Figure], computed_at: int
) -> list[tuple[Any, ...]]:
    """unit_figures rows (FIGURE_COLUMNS order) of freshly computed units: their figures and a marker
    each, all at the fingerprint read before computing (a row arriving meanwhile only makes the
    figures newer than the fingerprint, and the next read computes the unit again) and at one
    `computed_at` (the server's clock when the computation began, UNIX seconds), which names the
    computation: readers count a unit's figures of its marker's computation only."""
    rows = [
        (
            org_id,
            source_name,
            _month(f.unit),
            f.unit,
            f.dim,
            f.vkey,
            units[f.unit],
            f.checks,
            f.amount,
            f.name,
            computed_at,
        )
        for f in figures
        if f.unit in units
    ]
    rows += [
        (org_id, source_name, _month(u), u, *MARKER, fp, 0, Decimal(0), "", computed_at)
        for u, fp in units.items()
    ]
    return rows


def valid_figures(rows: Iterable[Sequence[Any]]) -> list[Figure]:
    """Figures from unit_figures rows (unit, dim, vkey, fingerprint, checks, amount, name,
    computed_at) of every computation, markers included. A unit's marker is its latest computation
    (latest computed_at, then the larger fingerprint); a figure counts only if that computation wrote
    it (its computed_at and fingerprint). Not every figure at the marker's fingerprint: a (dim, vkey)
    that had checks at an older computation and none at the newest left an older row behind, and two
    computations at one fingerprint need not agree (check_results can be ahead of the fingerprint,
    whose view commits after it), so one computation's 一致 and the next one's 作废 of the same check
    were both counted. Two computations in the same second at one fingerprint: the first row read."""
    rows = list(rows)
    marks: dict[str, tuple[int, int]] = {}
    for u, d, v, fp, *_, at in rows:
        if (str(d), str(v)) == MARKER:
            marks[str(u)] = max(marks.get(str(u), (0, 0)), (int(at), int(fp)))
    kept: dict[tuple[str, str, str], Figure] = {}
    for u, d, v, fp, n, a, name, at in rows:
        key = (str(u), str(d), str(v))
        if (key[1], key[2]) == MARKER or marks.get(key[0]) != (int(at), int(fp)) or key in kept:
            continue
        kept[key] = Figure(*key, int(n), Decimal(str(a)), str(name or ""))
    return list(kept.values())


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


def bucket_rows(query: TrendQuery, figures: Iterable[Figure]) -> list[tuple[Any, ...]]:
    """Rows of (bucket, period, dim, name, checks, 一致, 不一致, 一致 amount, []), as build_trend reads.

    By verdict, each verdict is a series of the hourly units' 'all' figures; otherwise a series is a
    dimension value, its checks those under '*'. A unit belongs to one bucket, and a check to one
    unit, so the sums are exact.
    """
    by_verdict = query.dimension is not None and query.dimension.value == "verdict"
    out: dict[tuple[str, str, str], list[Any]] = {}
    for f in figures:
        if f.vkey == "!" or (by_verdict and f.vkey == "*"):
            continue
        bucket, current = _bucket(query, f.unit)
        dim = f.vkey if by_verdict else f.dim
        row = out.setdefault(
            (bucket, "current" if current else "previous", dim), [f.name, 0, 0, 0, Decimal("0.00")]
        )
        row[0] = row[0] or f.name
        if by_verdict or f.vkey == "*":
            row[1] += f.checks
        if f.vkey == Verdict.CONSISTENT:
            row[2] += f.checks
            row[4] += f.amount
        elif f.vkey == Verdict.INCONSISTENT:
            row[3] += f.checks
    return [(b, p, d, *values, []) for (b, p, d), values in out.items()]
