"""智能数据分析: trend queries over the rollups, and the shaping of their rows into series.

A trend is one time bucket (hour/day/week/month) by at most one dimension, over a period of
Asia/Shanghai days, with the same-length previous period for period-over-period change. Counts come
from the rollups' exact check sets (see deploy/clickhouse/005_analytics_rollups.sql): per rollup
unit (hour or day) the sets are merged and counted, then unit counts are summed into buckets,
which is exact because a check belongs to one unit. Pure: `fapiao.warehouse.trends` runs the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from fapiao.analytics.catalog import (
    Bucket,
    Dimension,
)
from fapiao.analytics.filters import TimeRange, local_days

MAX_DAYS = {Bucket.HOUR: 31, Bucket.DAY: 1100, Bucket.WEEK: 3700, Bucket.MONTH: 3700}
MAX_TOP = 50


class Source(StrEnum):
    HOURLY = "checks_hourly"
    DAILY = "checks_daily"
    SELLERS = "seller_days"  # sellers_daily ordered by seller (migration 012)
    REQUESTERS = "requesters_daily"
    RAW = "check_results"


@dataclass(frozen=True)
class TrendQuery:
    date_from: date
    date_to: date
    bucket: Bucket = Bucket.DAY
    dimension: Dimension | None = None
    top: int = 10  # series kept for sellers and requesters (the busiest)

    def __post_init__(self) -> None:
        if self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        if self.days > MAX_DAYS[self.bucket]:
            raise ValueError(f"{self.bucket} buckets cover at most {MAX_DAYS[self.bucket]} days")
        if not 1 <= self.top <= MAX_TOP:
            raise ValueError(f"top must be between 1 and {MAX_TOP}")

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def previous(self) -> tuple[date, date]:
        """The same number of days just before the period."""
        return self.date_from - timedelta(days=self.days), self.date_from - timedelta(days=1)

    @property
    def source(self) -> Source:
        """Totals and verdicts come from the hourly rollup; other dimensions from a daily one, or from
        check_results for hour buckets (at most 31 days)."""
        if self.dimension in (None, Dimension.VERDICT):
            return Source.HOURLY
        if self.bucket is Bucket.HOUR:
            return Source.RAW
        return {
            Dimension.REGION: Source.DAILY,
            Dimension.TYPE: Source.DAILY,
            Dimension.SELLER: Source.SELLERS,
            Dimension.REQUESTER: Source.REQUESTERS,
        }[self.dimension]

    @property
    def ranked(self) -> bool:
        """Whether series are limited to the top values (unbounded dimensions)."""
        return self.dimension in (Dimension.SELLER, Dimension.REQUESTER)

    def spans(self) -> tuple[TimeRange, TimeRange]:
        """(both periods, the current period) as UTC intervals."""
        return local_days(self.previous[0], self.date_to), local_days(self.date_from, self.date_to)

    def params(self, org_id: str) -> dict[str, Any]:
        both, current = self.spans()
        first, last = both.first_date, current.last_date
        hourly = self.source is Source.HOURLY
        return {
            "u_first": both.params()["t_start"] if hourly else self.previous[0].isoformat(),
            "u_last": current.params()["t_end"] if hourly else self.date_to.isoformat(),
            "lm_from": self.date_from.year * 100 + self.date_from.month,
            "lm_to": self.date_to.year * 100 + self.date_to.month,
            "m_first": first.year * 100 + first.month,
            "m_last": last.year * 100 + last.month,
            "org_id": org_id,
            "p_start": both.params()["t_start"],
            "pd_start": both.first_date.isoformat(),
            "t_start": current.params()["t_start"],
            "t_end": current.params()["t_end"],
            "d_end": current.last_date.isoformat(),
            "ld_prev": self.previous[0].isoformat(),
            "ld_from": self.date_from.isoformat(),
            "ld_to": self.date_to.isoformat(),
        }


def cache_source(query: TrendQuery) -> str:
    """The `rollup_counts.source` of the query's rollup (daily rollups per dimension)."""
    source = query.source
    return f"{source}:{query.dimension}" if source is Source.DAILY else str(source)


def bucket_keys(bucket: Bucket, first: date, last: date) -> list[str]:
    """Every bucket of the days first..last, named as bucket_sql names them."""
    if bucket is Bucket.HOUR:
        start = datetime.combine(first, datetime.min.time())
        return [
            (start + timedelta(hours=h)).strftime("%Y-%m-%d %H:00:00")
            for h in range(((last - first).days + 1) * 24)
        ]
    keys: list[str] = []
    day = first
    while day <= last:
        if bucket is Bucket.DAY:
            key = day
        elif bucket is Bucket.WEEK:
            key = day - timedelta(days=day.weekday())
        else:
            key = day.replace(day=1)
        if not keys or keys[-1] != key.isoformat():
            keys.append(key.isoformat())
        day += timedelta(days=1)
    return keys
