"""Rollup units' exact figures into trend rows, and which computed figures are still valid (pure)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fapiao.analytics.catalog import Bucket, Dimension
from fapiao.analytics.trends import Source, TrendQuery
from fapiao.analytics.units import (
    Figure,
    bucket_rows,
    figure_rows,
    figures_of,
    fingerprints,
    stale,
    unit_of_hour,
    valid_figures,
)

QUERY = TrendQuery(date(2026, 11, 22), date(2026, 11, 28), Bucket.DAY)


def test_fingerprints_are_the_units_rows_and_only_changed_units_are_stale() -> None:
    hours = [("2026-11-21 15:00:00", 2), ("2026-11-21 16:00:00", 3), ("2026-11-22 15:00:00", 1)]
    assert fingerprints(Source.HOURLY, hours) == {h: n for h, n in hours}
    # Shanghai days: 16:00 UTC starts the next day
    assert fingerprints(Source.SELLERS, hours) == {"2026-11-21": 2, "2026-11-22": 4}
    assert unit_of_hour(Source.DAILY, "2026-11-21 15:59:59") == "2026-11-21"
    markers = [("2026-11-21", 2), ("2026-11-22", 3)]  # the 22nd got a row since (a redelivery, say)
    assert stale({"2026-11-21": 2, "2026-11-22": 4, "2026-11-23": 1}, markers) == ["2026-11-22", "2026-11-23"]


def test_figures_count_each_newest_verdict_under_it_under_star_and_problems_under_bang() -> None:
    computed = [
        ("2026-11-22", "s1", "consistent", 2, "20.00", "env1"),
        ("2026-11-22", "s1", "voided", 1, "5.00", ""),
        ("2026-11-22", "s2", "inconsistent", 1, "0.00", ""),
    ]
    got = {(f.dim, f.vkey): (f.checks, f.amount) for f in figures_of(Source.SELLERS, computed)}
    assert got == {
        ("s1", "consistent"): (2, Decimal("20.00")),
        ("s1", "voided"): (1, Decimal("5.00")),
        ("s1", "*"): (3, Decimal("25.00")),
        ("s1", "!"): (1, Decimal("5.00")),
        ("s2", "inconsistent"): (1, Decimal("0.00")),
        ("s2", "*"): (1, Decimal("0.00")),
        ("s2", "!"): (1, Decimal("0.00")),
    }
    assert ("s1", "!") not in {(f.dim, f.vkey) for f in figures_of(Source.REQUESTERS, computed)}
    assert next(f.name for f in figures_of(Source.SELLERS, computed) if f.dim == "s1") == "env1"


def test_rows_carry_the_fingerprint_and_only_the_markers_computation_counts() -> None:
    figures = [Figure("2026-11-25 03:00:00", "all", "*", 2, Decimal("9.00"))]
    rows = figure_rows("o", "checks_hourly", {"2026-11-25 03:00:00": 7}, figures, 1_780_000_000)
    assert rows == [
        (
            "o",
            "checks_hourly",
            202611,
            "2026-11-25 03:00:00",
            "all",
            "*",
            7,
            2,
            Decimal("9.00"),
            "",
            1_780_000_000,
        ),
        ("o", "checks_hourly", 202611, "2026-11-25 03:00:00", "", "", 7, 0, Decimal(0), "", 1_780_000_000),
    ]
    stored = [
        ("2026-11-25 03:00:00", "", "", 7, 0, "0", "", 100),  # computed at 7 rows
        ("2026-11-25 03:00:00", "all", "*", 7, 1, "0", "", 100),
        ("2026-11-25 03:00:00", "all", "pending_sync", 7, 1, "0", "", 100),  # none pending any more at 9
        ("2026-11-25 03:00:00", "", "", 9, 0, "0", "", 160),  # recomputed at 9 rows, twice (two replicas)
        ("2026-11-25 03:00:00", "all", "*", 9, 2, "9.00", "", 160),
        ("2026-11-25 03:00:00", "", "", 9, 0, "0", "", 161),
        ("2026-11-25 03:00:00", "all", "*", 9, 2, "9.00", "", 161),
        ("2026-11-25 04:00:00", "all", "*", 3, 1, "1.00", "", 100),  # no marker: not computed (yet)
    ]
    assert [(f.vkey, f.checks) for f in valid_figures(stored)] == [("*", 2)]
    # a slow computation at an older fingerprint that finished last is the marker: its figures count
    # (and the unit is stale, so the next read computes it again)
    late = [*stored, ("2026-11-25 03:00:00", "", "", 8, 0, "0", "", 170)]
    assert valid_figures(late) == []


def test_two_computations_at_one_fingerprint_count_the_latest_ones_figures_only() -> None:
    # the first saw a check at 一致 and at 作废 (its newer version), the second only at 作废: the first
    # one's 一致 row is left behind at the same fingerprint and must not count (30 checks, 15 一致)
    hour = "2026-10-14 02:00:00"
    stored = [
        (hour, "", "", 2, 0, "0", "", 100),
        (hour, "all", "*", 2, 2, "200.00", "", 100),
        (hour, "all", "consistent", 2, 1, "100.00", "", 100),
        (hour, "all", "voided", 2, 1, "100.00", "", 100),
        (hour, "", "", 2, 0, "0", "", 101),
        (hour, "all", "*", 2, 1, "100.00", "", 101),
        (hour, "all", "voided", 2, 1, "100.00", "", 101),
    ]
    assert sorted((f.vkey, f.checks) for f in valid_figures(stored)) == [("*", 1), ("voided", 1)]
    assert sorted((f.vkey, f.checks) for f in valid_figures(stored[::-1])) == [("*", 1), ("voided", 1)]


def test_units_add_up_into_local_buckets_and_periods() -> None:
    def figure(hour: str, vkey: str, checks: int, total: str = "0") -> Figure:
        return Figure(hour, "all", vkey, checks, Decimal(total))

    figures = [
        figure("2026-11-21 15:00:00", "*", 1),  # 23:00 on the 21st in Beijing: the previous period
        figure("2026-11-21 16:00:00", "*", 5),  # 00:00 on the 22nd
        figure("2026-11-21 16:00:00", "consistent", 4, "40.00"),
        figure("2026-11-21 17:00:00", "*", 2),
        figure("2026-11-21 17:00:00", "consistent", 2, "30.00"),
        figure("2026-11-21 17:00:00", "inconsistent", 0),
    ]
    rows = {(b, p): rest for b, p, _, *rest in bucket_rows(QUERY, figures)}
    assert rows[("2026-11-21", "previous")][1] == 1
    assert rows[("2026-11-22", "current")] == ["", 7, 6, 0, Decimal("70.00"), []]
    weekly = TrendQuery(date(2026, 11, 22), date(2026, 11, 28), Bucket.WEEK)
    assert {b for b, _, *_ in bucket_rows(weekly, figures)} == {"2026-11-16"}


def test_by_verdict_every_newest_verdict_is_its_own_series() -> None:
    query = TrendQuery(date(2026, 11, 22), date(2026, 11, 28), Bucket.MONTH, Dimension.VERDICT)
    figures = [
        Figure("2026-11-25 03:00:00", "all", v, n, Decimal(0))
        for v, n in (("consistent", 2), ("voided", 1), ("*", 3))
    ]
    rows = bucket_rows(query, figures)
    assert sorted((d, checks) for _, _, d, _, checks, *_ in rows) == [("consistent", 2), ("voided", 1)]
