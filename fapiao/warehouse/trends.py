"""Runs trend queries (fapiao.analytics.trends) and shapes them into series."""

from __future__ import annotations

from decimal import Decimal

from fapiao.analytics.series import Trend, build_trend
from fapiao.analytics.trends import TrendQuery, alerts_sql, amount_fix_sql, main_sql, top_sql, unit_dates
from fapiao.warehouse.engine import Engine


def fetch_trend(engine: Engine, org_id: str, query: TrendQuery) -> Trend:
    """An organisation's trend: at most four queries, none of them over raw rows for the common cases."""
    params = query.params(org_id)
    if query.ranked:
        top = engine.execute(top_sql(query), params | {"top": query.top})
        if not top:
            return build_trend(query, [], [])
        params["top_keys"] = tuple(str(row[0]) for row in top)
    main = engine.execute(main_sql(query), params)
    units = sorted({str(unit) for row in main for unit in row[8]})
    fixes: dict[tuple[str, str], Decimal] = {}
    if units:
        fix = params | {"units": tuple(units), "unit_dates": unit_dates(query, units)}
        for unit, dim, amount in engine.execute(amount_fix_sql(query), fix):
            fixes[(str(unit), str(dim))] = Decimal(str(amount))
    alerts = engine.execute(alerts_sql(query), params)
    return build_trend(query, main, alerts, fixes)
