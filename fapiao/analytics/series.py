"""Shaping trend rows into series with rates and period-over-period change (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fapiao.analytics.catalog import label
from fapiao.analytics.trends import TrendQuery, bucket_keys

ZERO = Decimal("0.00")


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Metrics:
    """What a trend measures for one bucket (or period) and dimension value.

    checks: distinct checks requested; consistent / inconsistent: checks answered 一致 / 不一致 (a
    check voided after its 一致 answer still counts as answered 一致); alerted: checks with a risk
    alert; amount: 价税合计 of the checks answered 一致. Rates are shares of the checks.
    """

    checks: int = 0
    consistent: int = 0
    inconsistent: int = 0
    alerted: int = 0
    amount: Decimal = ZERO

    def __add__(self, other: Metrics) -> Metrics:
        return Metrics(
            self.checks + other.checks,
            self.consistent + other.consistent,
            self.inconsistent + other.inconsistent,
            self.alerted + other.alerted,
            self.amount + other.amount,
        )

    @property
    def consistent_rate(self) -> float | None:
        return _ratio(self.consistent, self.checks)

    @property
    def inconsistent_rate(self) -> float | None:
        return _ratio(self.inconsistent, self.checks)

    @property
    def alert_rate(self) -> float | None:
        return _ratio(self.alerted, self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "checks": self.checks,
            "consistent": self.consistent,
            "inconsistent": self.inconsistent,
            "alerted": self.alerted,
            "amount": self.amount,
            "consistent_rate": self.consistent_rate,
            "inconsistent_rate": self.inconsistent_rate,
            "alert_rate": self.alert_rate,
        }


def _pct(now: Decimal | int, before: Decimal | int) -> float | None:
    return round(float((Decimal(now) - Decimal(before)) / Decimal(before)) * 100, 1) if before else None


def _points(now: float | None, before: float | None) -> float | None:
    return round((now - before) * 100, 2) if now is not None and before is not None else None


def change(current: Metrics, previous: Metrics) -> dict[str, float | None]:
    """Counts and amounts in percent of the previous period; rates in percentage points."""
    return {
        "checks_pct": _pct(current.checks, previous.checks),
        "amount_pct": _pct(current.amount, previous.amount),
        "alerted_pct": _pct(current.alerted, previous.alerted),
        "consistent_rate_pp": _points(current.consistent_rate, previous.consistent_rate),
        "inconsistent_rate_pp": _points(current.inconsistent_rate, previous.inconsistent_rate),
        "alert_rate_pp": _points(current.alert_rate, previous.alert_rate),
    }


@dataclass
class Series:
    key: str
    label_zh: str
    label_en: str
    points: dict[str, Metrics] = field(default_factory=dict)
    current: Metrics = field(default_factory=Metrics)
    previous: Metrics = field(default_factory=Metrics)

    @property
    def change(self) -> dict[str, float | None]:
        return change(self.current, self.previous)


@dataclass(frozen=True)
class Trend:
    query: TrendQuery
    buckets: list[str]
    series: list[Series]


def build_trend(
    query: TrendQuery,
    main_rows: Iterable[Sequence[Any]],
    alert_rows: Iterable[Sequence[Any]],
    amount_fixes: dict[tuple[str, str], Decimal] | None = None,
) -> Trend:
    """Series from the rows of main_sql and alerts_sql, with the recomputed amounts of flagged units."""
    fixes = amount_fixes or {}
    found: dict[str, Series] = {}
    names: dict[str, str] = {}
    for bucket, period, dim, name, checks, consistent, inconsistent, amount, units in main_rows:
        key = str(dim)
        names.setdefault(key, str(name or ""))
        fixed = sum((fixes.get((str(u), key), ZERO) for u in units), ZERO)
        metrics = Metrics(int(checks), int(consistent), int(inconsistent), 0, Decimal(str(amount)) + fixed)
        _add(found, query, key, names[key], str(bucket), str(period), metrics)
    for bucket, period, dim, alerted in alert_rows:
        if str(dim) in found:
            _add(
                found,
                query,
                str(dim),
                names[str(dim)],
                str(bucket),
                str(period),
                Metrics(alerted=int(alerted)),
            )
    keys = bucket_keys(query.bucket, query.date_from, query.date_to)
    series = sorted(found.values(), key=lambda s: (-s.current.checks, s.key))
    for one in series:
        one.points = {k: one.points.get(k, Metrics()) for k in keys}
    return Trend(query, keys, series)


def _add(
    found: dict[str, Series], query: TrendQuery, key: str, name: str, bucket: str, period: str, m: Metrics
) -> None:
    if key not in found:
        zh, en = label(query.dimension, key, name)
        found[key] = Series(key, zh, en)
    one = found[key]
    if period == "current":
        one.current = one.current + m
        one.points[bucket] = one.points.get(bucket, Metrics()) + m
    else:
        one.previous = one.previous + m
