"""Top risky sellers of a period: problem answers from the sellers rollup, alerts from risk_alerts.

Sellers are their HMAC-SM3 pseudonyms (`seller_ref`) and names SM4-GCM envelopes: a RiskySeller's
`tax_id` and `name` are opened by the caller holding the keys (fapiao.analytics.reveal)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from fapiao.analytics.narrative import RiskySeller

_PERIOD = "org_id = %(org_id)s AND day >= toDate(%(ld_from)s) AND day <= toDate(%(ld_to)s)"
# candidates: sellers with the most problem result rows in the months the period touches (cheap
# plain sums of sellers_monthly; the exact numbers follow)
CANDIDATES_SQL = (
    "SELECT seller_ref, sum(problem_results) AS problem FROM sellers_monthly "
    "WHERE org_id = %(org_id)s AND month >= %(lm_from)s AND month <= %(lm_to)s "
    "GROUP BY seller_ref HAVING problem > 0 ORDER BY problem DESC, seller_ref LIMIT %(limit)s"
)
# exact checks and problem checks of the candidates: per-day sets counted, days added up (seller_days
# is ordered by seller: only the candidates' rows are read)
EXACT_SQL = (
    "SELECT seller_ref, any(name), sumIf(n, vkey = '*'), sumIf(n, vkey = '!') FROM ("
    "SELECT day, seller_ref, vkey, anyMerge(seller_sealed) AS name, uniqExactMerge(checks) AS n "
    f"FROM seller_days WHERE {_PERIOD} AND vkey IN ('*', '!') AND seller_ref IN %(keys)s "
    "GROUP BY day, seller_ref, vkey) GROUP BY seller_ref"
)
ALERTED_SQL = (
    "SELECT seller_ref, uniqExact(check_id) AS n, any(seller_sealed) FROM risk_alerts "
    "WHERE org_id = %(org_id)s AND seller_ref != '' AND raised_date >= toDate(%(d_start)s) "
    "AND raised_date <= toDate(%(d_end)s) AND raised_at >= toDateTime(%(t_start)s, 'UTC') "
    "AND raised_at < toDateTime(%(t_end)s, 'UTC') GROUP BY seller_ref ORDER BY n DESC, seller_ref "
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
    for key, alerted, name in alerted_rows:
        seller = found.get(str(key), RiskySeller(str(key), str(name), 0, 0, 0))
        found[str(key)] = replace(seller, alerted=int(alerted))
    ranked = sorted(found.values(), key=lambda s: (-(s.risky + s.alerted), -s.risky_rate, s.tax_id))
    return ranked[:limit]
