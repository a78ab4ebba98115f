"""Top risky sellers of a period: problem answers from the sellers' unit figures, alerts from risk_alerts.

Sellers are their HMAC-SM3 pseudonyms (`seller_ref`) and names SM4-GCM envelopes: a RiskySeller's
`tax_id` and `name` are opened by the caller holding the keys (fapiao.analytics.reveal)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from fapiao.analytics.narrative import RiskySeller
from fapiao.analytics.trend_sql import CURRENT_FIGURES

# Exact figures of listed sellers (or of all) over the period's days, from their unit figures (each
# check once, at its newest result): rows of (seller, any envelope, checks, problem checks).
EXACT_SQL = (
    "SELECT dim, any(name), sumIf(checks, vkey = '*'), sumIf(checks, vkey = '!') "
    f"FROM unit_figures FINAL WHERE {CURRENT_FIGURES} AND vkey IN ('*', '!') AND dim IN %(keys)s GROUP BY dim"
)
# every seller's exact problem checks of the period (the '!' rows only: one range per unit_figures' order)
PROBLEMS_SQL = (
    f"SELECT dim, sum(checks) FROM unit_figures FINAL WHERE {CURRENT_FIGURES} AND vkey = '!' GROUP BY dim"
)
ALERTED_SQL = (
    "SELECT seller_ref, uniqExact(check_id) AS n, any(seller_sealed) FROM risk_alerts "
    "WHERE org_id = %(org_id)s AND seller_ref != '' AND raised_date >= toDate(%(d_start)s) "
    "AND raised_date <= toDate(%(d_end)s) AND raised_at >= toDateTime(%(t_start)s, 'UTC') "
    "AND raised_at < toDateTime(%(t_end)s, 'UTC') GROUP BY seller_ref"
)  # every alerted seller of the period (alerts are few): their counts are exact, none cut off


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
