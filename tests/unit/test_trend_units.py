"""Rollup units into trend rows, and which remembered unit counts are still valid (pure)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fapiao.analytics.catalog import Bucket, Dimension
from fapiao.analytics.trends import TrendQuery
from fapiao.analytics.units import Known, Unit, bucket_rows, cache_rows, parse_units, split_cached

QUERY = TrendQuery(date(2026, 11, 22), date(2026, 11, 28), Bucket.DAY)


def test_a_cached_count_is_used_only_at_the_same_row_count() -> None:
    units = parse_units(
        [("2026-11-25 03:00:00", "all", "*", "", 3, "10.00"), ("2026-11-25 04:00:00", "all", "*", "", 2, "0")]
    )
    cached = [
        ("2026-11-25 03:00:00", "all", "*", 3, 2, "7.50"),
        ("2026-11-25 04:00:00", "all", "*", 1, 1, ""),
    ]
    known, missing = split_cached(units, cached)
    assert known.counts == {("2026-11-25 03:00:00", "all", "*"): 2}
    assert known.amounts == {("2026-11-25 03:00:00", "all", "*"): Decimal("7.50")}
    assert [u.unit for u in missing] == ["2026-11-25 04:00:00"]
    rows = cache_rows("o", QUERY, missing, Known({missing[0].key: 2}, {}))
    assert rows == [("o", "checks_hourly", 202611, "2026-11-25 04:00:00", "all", "*", 2, 2, Decimal(0), 0, 4)]


def test_units_add_up_into_local_buckets_and_periods() -> None:
    def unit(hour: str, vkey: str, results: int, total: str = "0") -> Unit:
        return Unit(hour, "all", vkey, "", results, Decimal(total))

    units = [
        unit("2026-11-21 15:00:00", "*", 1),  # 23:00 on the 21st in Beijing: the previous period
        unit("2026-11-21 16:00:00", "*", 5),  # 00:00 on the 22nd
        unit("2026-11-21 16:00:00", "consistent", 4, "40.00"),
        unit("2026-11-21 17:00:00", "*", 2),
        unit("2026-11-21 17:00:00", "consistent", 3, "30.00"),  # 3 rows, 2 checks: amount to fix
    ]
    counts = {u.key: n for u, n in zip(units, [1, 5, 4, 2, 2], strict=True)}
    rows = {(b, p): rest for b, p, _, *rest in bucket_rows(QUERY, units, Known(counts, {}))}
    assert rows[("2026-11-21", "previous")][1] == 1
    _, checks, consistent, inconsistent, amount, fix = rows[("2026-11-22", "current")]
    assert (checks, consistent, inconsistent, amount, fix) == (
        7,
        6,
        0,
        Decimal("40.00"),
        ["2026-11-21 17:00:00"],
    )
    weekly = TrendQuery(date(2026, 11, 22), date(2026, 11, 28), Bucket.WEEK)
    assert {b for b, _, *_ in bucket_rows(weekly, units, Known(counts, {}))} == {"2026-11-16"}
    fixed = Known(counts, {units[4].key: Decimal("20.00")})  # the recomputed amount, remembered
    assert {(b, p): r for b, p, _, *r in bucket_rows(QUERY, units, fixed)}[("2026-11-22", "current")][4:] == [
        Decimal("60.00"),
        [],
    ]


def test_by_verdict_every_vkey_is_its_own_series() -> None:
    query = TrendQuery(date(2026, 11, 22), date(2026, 11, 28), Bucket.MONTH, Dimension.VERDICT)
    units = [Unit("2026-11-25 03:00:00", v, v, "", 1, Decimal(0)) for v in ("consistent", "voided")]
    rows = bucket_rows(query, units, Known({u.key: 1 for u in units}, {}))
    assert sorted((d, checks) for _, _, d, _, checks, *_ in rows) == [("consistent", 1), ("voided", 1)]
