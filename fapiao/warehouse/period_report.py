"""Gathers what the period report says (trends by total, region, type, verdict; risky sellers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fapiao.analytics import sellers
from fapiao.analytics.catalog import Bucket, Dimension
from fapiao.analytics.narrative import PeriodFacts, RiskySeller
from fapiao.analytics.series import Series, Trend
from fapiao.analytics.trends import TrendQuery
from fapiao.warehouse.engine import Engine
from fapiao.warehouse.trends import fetch_trend

TOP_SELLERS = 5


def auto_bucket(date_from: date, date_to: date) -> Bucket:
    days = (date_to - date_from).days + 1
    if days <= 2:
        return Bucket.HOUR
    if days <= 92:
        return Bucket.DAY
    return Bucket.WEEK if days <= 730 else Bucket.MONTH


@dataclass(frozen=True)
class PeriodData:
    facts: PeriodFacts
    trends: dict[str, Trend]  # "total", "region", "type", "verdict"


def risky_sellers(
    engine: Engine, org_id: str, query: TrendQuery, limit: int = TOP_SELLERS
) -> list[RiskySeller]:
    params = query.params(org_id) | {"limit": limit * 4}
    _, current = query.spans()
    params |= current.params()
    risky = engine.execute(sellers.RISKY_SQL, params)
    alerted = engine.execute(sellers.ALERTED_SQL, params)
    unknown = tuple({str(r[0]) for r in alerted} - {str(r[0]) for r in risky})
    volume = engine.execute(sellers.VOLUME_SQL, params | {"keys": unknown}) if unknown else []
    return sellers.rank(risky, alerted, volume, limit)


def fetch_period(
    engine: Engine, org_id: str, date_from: date, date_to: date, bucket: Bucket | None = None
) -> PeriodData:
    """Everything the report needs: five rollup trend queries and the risky sellers."""
    chosen = bucket or auto_bucket(date_from, date_to)
    trends = {
        "total": fetch_trend(engine, org_id, TrendQuery(date_from, date_to, chosen)),
        **{
            dim.value: fetch_trend(engine, org_id, TrendQuery(date_from, date_to, chosen, dim))
            for dim in (Dimension.REGION, Dimension.TYPE, Dimension.VERDICT)
        },
    }
    total = trends["total"].series[0] if trends["total"].series else Series("all", "全部", "all")
    facts = PeriodFacts(
        date_from,
        date_to,
        total,
        trends["region"].series,
        trends["type"].series,
        risky_sellers(engine, org_id, TrendQuery(date_from, date_to)),
    )
    return PeriodData(facts, trends)
