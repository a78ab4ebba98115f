"""Top risky sellers of a period: problem answers from the sellers rollup, alerts from risk_alerts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fapiao.analytics.narrative import RiskySeller

# per seller: checks, and checks with a problem answer (vkey '!'), per day, summed over the period
RISKY_SQL = (
    "SELECT seller_tax_id, any(name), sumIf(n, vkey = '*'), sumIf(n, vkey = '!') AS risky FROM ("
    "SELECT day, seller_tax_id, vkey, any(seller_name) AS name, uniqExactMerge(checks) AS n "
    "FROM sellers_daily "
    "WHERE org_id = %(org_id)s AND day >= toDate(%(ld_from)s) AND day <= toDate(%(ld_to)s) "
    "AND vkey IN ('*', '!') GROUP BY day, seller_tax_id, vkey) GROUP BY seller_tax_id HAVING risky > 0 "
    "ORDER BY risky DESC, seller_tax_id LIMIT %(limit)s"
)
ALERTED_SQL = (
    "SELECT seller_tax_id, uniqExact(check_id) AS n FROM risk_alerts "
    "WHERE org_id = %(org_id)s AND seller_tax_id != '' AND raised_date >= toDate(%(d_start)s) "
    "AND raised_date <= toDate(%(d_end)s) AND raised_at >= toDateTime(%(t_start)s, 'UTC') "
    "AND raised_at < toDateTime(%(t_end)s, 'UTC') GROUP BY seller_tax_id ORDER BY n DESC, seller_tax_id "
    "LIMIT %(limit)s"
)
# checks and names of sellers known only from their alerts
VOLUME_SQL = (
    "SELECT seller_tax_id, any(name), sum(n) FROM ("
    "SELECT day, seller_tax_id, any(seller_name) AS name, uniqExactMerge(checks) AS n FROM sellers_daily "
    "WHERE org_id = %(org_id)s AND day >= toDate(%(ld_from)s) AND day <= toDate(%(ld_to)s) "
    "AND vkey = '*' AND seller_tax_id IN %(keys)s GROUP BY day, seller_tax_id) GROUP BY seller_tax_id"
)


def rank(
    risky_rows: Iterable[Sequence[Any]],
    alerted_rows: Iterable[Sequence[Any]],
    volume_rows: Iterable[Sequence[Any]],
    limit: int,
) -> list[RiskySeller]:
    """Sellers by problem answers plus alerts, then by problem share."""
    found: dict[str, dict[str, Any]] = {}
    for key, name, checks, risky in [*risky_rows]:
        found[str(key)] = {"name": str(name), "checks": int(checks), "risky": int(risky), "alerted": 0}
    for key, name, checks in volume_rows:
        found.setdefault(str(key), {"name": str(name), "checks": int(checks), "risky": 0, "alerted": 0})
    for key, alerted in alerted_rows:
        entry = found.setdefault(str(key), {"name": str(key), "checks": 0, "risky": 0, "alerted": 0})
        entry["alerted"] = int(alerted)
    sellers = [RiskySeller(k, v["name"], v["checks"], v["risky"], v["alerted"]) for k, v in found.items()]
    sellers.sort(key=lambda s: (-(s.risky + s.alerted), -s.risky_rate, s.tax_id))
    return sellers[:limit]
