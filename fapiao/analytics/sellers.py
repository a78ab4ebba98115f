"""Top risky sellers of a period: problem answers from the sellers rollup, alerts from risk_alerts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from fapiao.analytics.narrative import RiskySeller

_PERIOD = "org_id = %(org_id)s AND day >= toDate(%(ld_from)s) AND day <= toDate(%(ld_to)s)"
# candidates: sellers with the most problem result rows in the months the period touches (cheap
# plain sums of sellers_monthly; the exact numbers follow)
CANDIDATES_SQL = (
    "SELECT seller_tax_id, sum(problem_results) AS problem FROM sellers_monthly "
    "WHERE org_id = %(org_id)s AND month >= %(lm_from)s AND month <= %(lm_to)s "
    "GROUP BY seller_tax_id HAVING problem > 0 ORDER BY problem DESC, seller_tax_id LIMIT %(limit)s"
)
# exact checks and problem checks of the candidates: per-day sets counted, days added up
EXACT_SQL = (
    "SELECT seller_tax_id, any(name), sumIf(n, vkey = '*'), sumIf(n, vkey = '!') FROM ("
    "SELECT day, seller_tax_id, vkey, any(seller_name) AS name, uniqExactMerge(checks) AS n "
    f"FROM sellers_daily WHERE {_PERIOD} AND vkey IN ('*', '!') AND seller_tax_id IN %(keys)s "
    "GROUP BY day, seller_tax_id, vkey) GROUP BY seller_tax_id"
)
ALERTED_SQL = (
    "SELECT seller_tax_id, uniqExact(check_id) AS n FROM risk_alerts "
    "WHERE org_id = %(org_id)s AND seller_tax_id != '' AND raised_date >= toDate(%(d_start)s) "
    "AND raised_date <= toDate(%(d_end)s) AND raised_at >= toDateTime(%(t_start)s, 'UTC') "
    "AND raised_at < toDateTime(%(t_end)s, 'UTC') GROUP BY seller_tax_id ORDER BY n DESC, seller_tax_id "
    "LIMIT %(limit)s"
)


def rank(
    exact_rows: Iterable[Sequence[Any]], alerted_rows: Iterable[Sequence[Any]], limit: int
) -> list[RiskySeller]:
    """Sellers by problem answers plus alerts, then by problem share."""
    found = {
        str(k): RiskySeller(str(k), str(name), int(checks), int(risky), 0)
        for k, name, checks, risky in exact_rows
    }
    for key, alerted in alerted_rows:
        seller = found.get(str(key), RiskySeller(str(key), str(key), 0, 0, 0))
        found[str(key)] = replace(seller, alerted=int(alerted))
    ranked = sorted(found.values(), key=lambda s: (-(s.risky + s.alerted), -s.risky_rate, s.tax_id))
    return ranked[:limit]
