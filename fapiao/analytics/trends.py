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
    KEY_REGION_SQL,
    PENDING,
    REGION_SQL,
    Bucket,
    Dimension,
    bucket_sql,
)
from fapiao.analytics.filters import TimeRange, local_days

MAX_DAYS = {Bucket.HOUR: 31, Bucket.DAY: 1100, Bucket.WEEK: 3700, Bucket.MONTH: 3700}
MAX_TOP = 50


class Source(StrEnum):
    HOURLY = "checks_hourly"
    SELLERS = "sellers_daily"
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
        if self.dimension in (Dimension.SELLER, Dimension.REQUESTER):
            if self.bucket is Bucket.HOUR:
                return Source.RAW
            return Source.SELLERS if self.dimension is Dimension.SELLER else Source.REQUESTERS
        return Source.HOURLY

    @property
    def ranked(self) -> bool:
        """Whether series are limited to the top values (unbounded dimensions)."""
        return self.dimension in (Dimension.SELLER, Dimension.REQUESTER)

    def spans(self) -> tuple[TimeRange, TimeRange]:
        """(both periods, the current period) as UTC intervals."""
        return local_days(self.previous[0], self.date_to), local_days(self.date_from, self.date_to)

    def params(self, org_id: str) -> dict[str, Any]:
        both, current = self.spans()
        return {
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


_HOURLY_DIM = {
    None: "'all'",
    Dimension.REGION: "region",
    Dimension.TYPE: "fplx",
    Dimension.VERDICT: "verdict",
}
_RAW_DIM = {
    None: "'all'",
    Dimension.REGION: REGION_SQL,
    Dimension.TYPE: "fplx",
    Dimension.VERDICT: "verdict",
    Dimension.SELLER: "seller_tax_id",
    Dimension.REQUESTER: "requester",
}
_ROLLUP_STATES = (
    "uniqExactMerge(checks) AS n_checks, "
    f"uniqExactMergeIf(checks, verdict != '{PENDING}') AS n_answered, "
    "uniqExactMergeIf(checks, verdict = 'consistent') AS n_consistent, "
    "uniqExactMergeIf(checks, verdict = 'inconsistent') AS n_inconsistent, "
    "countMergeIf(results, verdict = 'consistent') AS n_consistent_rows, "
    "sumMergeIf(total_sum, verdict = 'consistent') AS n_amount"
)
# Sum unit counts into buckets; a unit whose 一致 rows outnumber its 一致 checks had a check written
# twice there: its amount is left out here and recomputed from check_results (amount_fix_sql).
_OUTER = (
    "sum(n_checks), sum(n_answered), sum(n_consistent), sum(n_inconsistent), "
    "sumIf(n_amount, n_consistent_rows <= n_consistent), "
    "groupArrayIf(unit, n_consistent_rows > n_consistent)"
)


def top_sql(query: TrendQuery) -> str:
    """The busiest sellers or requesters of the current period (series are kept for these only)."""
    if query.dimension is Dimension.SELLER:
        key, name, table = "seller_tax_id", "seller_name", Source.SELLERS
    else:
        key, name, table = "requester", "requester", Source.REQUESTERS
    return (
        f"SELECT key, any(name), sum(n) AS total FROM ("
        f"SELECT day, {key} AS key, any({name}) AS name, uniqExactMerge(checks) AS n FROM {table} "
        "WHERE org_id = %(org_id)s AND day >= toDate(%(ld_from)s) AND day <= toDate(%(ld_to)s) "
        "GROUP BY day, key) GROUP BY key ORDER BY total DESC, key LIMIT %(top)s"
    )


def main_sql(query: TrendQuery) -> str:
    """Rows of (bucket, period, dim value, name, checks, answered, 一致, 不一致, amount, units to fix)."""
    source = query.source
    bucket = query.bucket
    if source is Source.HOURLY:
        dim = _HOURLY_DIM[query.dimension]
        return (
            f"SELECT {bucket_sql(bucket, 'h')} AS bucket, "
            "if(h >= toDateTime(%(t_start)s, 'UTC'), 'current', 'previous') AS period, "
            f"dim, '' AS name, {_OUTER} FROM ("
            f"SELECT hour AS h, toString(hour) AS unit, {dim} AS dim, {_ROLLUP_STATES} FROM checks_hourly "
            "WHERE org_id = %(org_id)s AND hour >= toDateTime(%(p_start)s, 'UTC') "
            "AND hour < toDateTime(%(t_end)s, 'UTC') GROUP BY hour, dim"
            ") GROUP BY bucket, period, dim"
        )
    if source in (Source.SELLERS, Source.REQUESTERS):
        key, name = (
            ("seller_tax_id", "seller_name") if source is Source.SELLERS else ("requester", "requester")
        )
        return (
            f"SELECT {bucket_sql(bucket, 'd', is_date=True)} AS bucket, "
            "if(d >= toDate(%(ld_from)s), 'current', 'previous') AS period, "
            f"dim, any(name), {_OUTER} FROM ("
            f"SELECT day AS d, toString(day) AS unit, {key} AS dim, any({name}) AS name, {_ROLLUP_STATES} "
            f"FROM {source} WHERE org_id = %(org_id)s AND day >= toDate(%(ld_prev)s) "
            f"AND day <= toDate(%(ld_to)s) AND {key} IN %(top_keys)s GROUP BY day, dim"
            ") GROUP BY bucket, period, dim"
        )
    dim = _RAW_DIM[query.dimension]
    name = "seller_name" if query.dimension is Dimension.SELLER else "''"
    return (
        f"SELECT {bucket_sql(bucket, 'requested_at')} AS bucket, "
        "if(requested_at >= toDateTime(%(t_start)s, 'UTC'), 'current', 'previous') AS period, "
        f"{dim} AS dim, any({name}), uniqExact(check_id), "
        f"uniqExactIf(check_id, verdict != '{PENDING}'), uniqExactIf(check_id, verdict = 'consistent'), "
        "uniqExactIf(check_id, verdict = 'inconsistent'), sumIf(total, verdict = 'consistent'), "
        f"emptyArrayString() FROM check_results FINAL WHERE {_RAW_RANGE} AND {dim} IN %(top_keys)s "
        "GROUP BY bucket, period, dim"
    )


_RAW_RANGE = (
    "org_id = %(org_id)s AND requested_date >= toDate(%(pd_start)s) AND requested_date <= toDate(%(d_end)s) "
    "AND requested_at >= toDateTime(%(p_start)s, 'UTC') AND requested_at < toDateTime(%(t_end)s, 'UTC')"
)


def alerts_sql(query: TrendQuery) -> str:
    """Rows of (bucket, period, dimension value, checks with at least one risk alert).

    Alerts carry their invoice key and seller, so totals, regions and sellers are counted from
    `risk_alerts` alone, in the bucket they were raised in; by type, verdict or requester they are
    attributed through their check's rows in check_results (slower: reads the period's check ids).
    """
    dim = query.dimension
    if dim in (None, Dimension.REGION, Dimension.SELLER):
        column = {None: "'all'", Dimension.REGION: KEY_REGION_SQL, Dimension.SELLER: "seller_tax_id"}[dim]
        return (
            f"SELECT {bucket_sql(query.bucket, 'raised_at')} AS bucket, "
            "if(raised_at >= toDateTime(%(t_start)s, 'UTC'), 'current', 'previous') AS period, "
            f"{column} AS dim, uniqExact(check_id) FROM risk_alerts "
            "WHERE org_id = %(org_id)s AND raised_date >= toDate(%(pd_start)s) "
            "AND raised_date <= toDate(%(d_end)s) AND raised_at >= toDateTime(%(p_start)s, 'UTC') "
            "AND raised_at < toDateTime(%(t_end)s, 'UTC') GROUP BY bucket, period, dim"
        )
    return (
        f"SELECT {bucket_sql(query.bucket, 'requested_at')} AS bucket, "
        "if(requested_at >= toDateTime(%(t_start)s, 'UTC'), 'current', 'previous') AS period, "
        f"{_RAW_DIM[dim]} AS dim, uniqExact(check_id) FROM check_results FINAL WHERE {_RAW_RANGE} "
        "AND check_id IN (SELECT check_id FROM risk_alerts WHERE org_id = %(org_id)s "
        "AND raised_date >= toDate(%(pd_start)s)) GROUP BY bucket, period, dim"
    )


def amount_fix_sql(query: TrendQuery) -> str:
    """Exact 一致 amounts of the listed units (hours, or local days), each check counted once."""
    if query.source is Source.HOURLY:
        unit = "toString(toStartOfHour(requested_at))"
    else:
        unit = "toString(toDate(requested_at, 'Asia/Shanghai'))"
    dim = _RAW_DIM[query.dimension]
    return (
        f"SELECT {unit} AS unit, {dim} AS dim, sum(total) FROM check_results FINAL "
        f"WHERE {_RAW_RANGE} AND verdict = 'consistent' AND {unit} IN %(units)s GROUP BY unit, dim"
    )


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
