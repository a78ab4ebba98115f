"""Gathers what the period report says (trends by total, region, type, verdict; risky sellers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from fapiao.analytics import sellers
from fapiao.analytics.catalog import Bucket, Dimension
from fapiao.analytics.narrative import PeriodFacts, RiskySeller
from fapiao.analytics.reveal import open_facts
from fapiao.analytics.series import Series, Trend
from fapiao.analytics.trends import TrendQuery, cache_source
from fapiao.crypto.protect import FieldSealer
from fapiao.warehouse.engine import Engine
from fapiao.warehouse.trends import fetch_trend, remember_units

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
    """The riskiest sellers of the period, by exact problem checks plus alerts: every seller's problem
    checks from the '!' figures of the period's seller units (few rows: problem answers are rare, and
    unit_figures holds them apart), the alerted sellers, then the full figures of those at or above the
    cut (ties are ordered by their problem share)."""
    by_seller = TrendQuery(query.date_from, query.date_to, dimension=Dimension.SELLER)
    remember_units(engine, org_id, by_seller)
    params = by_seller.params(org_id) | {"cache_source": cache_source(by_seller)}
    _, current = query.spans()
    params |= current.params()
    alerted = engine.execute(sellers.ALERTED_SQL, params)
    alerts = {str(r[0]): int(r[1]) for r in alerted}
    problems = {str(k): int(n) for k, n in engine.execute(sellers.PROBLEMS_SQL, params)}
    scores = {k: problems.get(k, 0) + alerts.get(k, 0) for k in {*problems, *alerts}}
    ranked = sorted(scores.values(), reverse=True)
    cut = ranked[limit - 1] if len(ranked) >= limit else 1
    wanted = sorted(k for k, n in scores.items() if n >= cut)
    figures: list[tuple[Any, ...]] = []
    for start in range(0, len(wanted), 1000):  # literal lists under max_query_size
        chunk = tuple(wanted[start : start + 1000])
        figures += [tuple(r) for r in engine.execute(sellers.EXACT_SQL, params | {"keys": chunk})]
    return sellers.rank(figures, alerted, limit)


STEPS = ("total", "region", "type", "verdict", "sellers")


def fetch_period(
    engine: Engine,
    org_id: str,
    date_from: date,
    date_to: date,
    on_step: Callable[[str], None] | None = None,
    sealer: FieldSealer | None = None,
) -> PeriodData:
    """Everything the report needs: four trends over the rollups and the risky sellers.

    `on_step(name)` is called after each of STEPS (for progress bars). With the `sealer`, the risky
    sellers come with their tax ids and names (else as pseudonyms and envelopes, as stored)."""
    chosen = auto_bucket(date_from, date_to)
    trends: dict[str, Trend] = {}
    for dim in (None, Dimension.REGION, Dimension.TYPE, Dimension.VERDICT):
        name = dim.value if dim else "total"
        trends[name] = fetch_trend(engine, org_id, TrendQuery(date_from, date_to, chosen, dim))
        if on_step:
            on_step(name)
    total = trends["total"].series[0] if trends["total"].series else Series("all", "全部", "all")
    facts = PeriodFacts(
        date_from,
        date_to,
        total,
        trends["region"].series,
        trends["type"].series,
        risky_sellers(engine, org_id, TrendQuery(date_from, date_to)),
    )
    if sealer is not None:
        facts = open_facts(sealer, facts)
    if on_step:
        on_step("sellers")
    return PeriodData(facts, trends)
