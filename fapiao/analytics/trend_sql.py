"""The SQL of trends: over the rollups (row counts, sets, remembered counts), over check_results for
hour buckets by region/type/seller/requester, alerts, and the amount recomputations. Pure text with
`%(name)s` parameters; user input only ever selects among these (TrendQuery's enums)."""

from __future__ import annotations

from datetime import date, timedelta

from fapiao.analytics.catalog import KEY_REGION_SQL, REGION_SQL, Dimension, bucket_sql
from fapiao.analytics.trends import Source, TrendQuery
from schemas.events import Verdict

_RAW_DIM = {
    None: "'all'",
    Dimension.REGION: REGION_SQL,
    Dimension.TYPE: "fplx",
    Dimension.VERDICT: "verdict",
    Dimension.SELLER: "seller_ref",
    Dimension.REQUESTER: "requester_ref",
}
# rollup -> (its unit column, whether that is a local Date, the dimension column, the name column).
# Sellers and requesters are pseudonyms (HMAC-SM3) and their names SM4-GCM envelopes, which the API
# opens for the series it shows (fapiao.analytics.reveal).
_ROLLUP: dict[Source, tuple[str, bool, str, str]] = {
    Source.HOURLY: ("hour", False, "'all'", "''"),
    Source.DAILY: ("day", True, "value", "''"),
    Source.SELLERS: ("day", True, "seller_ref", "''"),  # names: seller_names_sql (few rows)
    Source.REQUESTERS: ("day", True, "requester_ref", "anyMerge(requester_sealed)"),
}
_RAW_NAME = {Dimension.SELLER: "seller_sealed", Dimension.REQUESTER: "requester_sealed"}
_METRIC_KEYS = "('*', 'consistent', 'inconsistent')"
_ALL_VERDICTS = "(" + ", ".join(f"'{v.value}'" for v in Verdict) + ")"


def _rollup_where(query: TrendQuery) -> str:
    _, is_date, dim, _ = _ROLLUP[query.source]
    keys = _ALL_VERDICTS if query.dimension is Dimension.VERDICT else _METRIC_KEYS
    where = ["org_id = %(org_id)s", f"vkey IN {keys}"]
    if is_date:
        where += ["day >= toDate(%(ld_prev)s)", "day <= toDate(%(ld_to)s)"]
    else:
        where += ["hour >= toDateTime(%(p_start)s, 'UTC')", "hour < toDateTime(%(t_end)s, 'UTC')"]
    if query.source is Source.DAILY:
        where.insert(1, f"dimension = '{query.dimension}'")
    if query.ranked:
        where.append(f"{dim} IN %(top_keys)s")
    return " AND ".join(where)


def _dim(query: TrendQuery) -> str:
    return "vkey" if query.dimension is Dimension.VERDICT else _ROLLUP[query.source][2]


def top_sql(query: TrendQuery) -> str:
    """The busiest sellers (by result rows in the months the period touches: sellers_monthly) or
    requesters (by result rows in the period) — cheap, no set merged; the counts shown stay exact."""
    if query.dimension is Dimension.SELLER:
        return (
            "SELECT seller_ref AS key, sum(results) AS rows FROM sellers_monthly "
            "WHERE org_id = %(org_id)s AND month >= %(lm_from)s AND month <= %(lm_to)s "
            "GROUP BY key ORDER BY rows DESC, key LIMIT %(top)s"
        )
    return (
        "SELECT requester_ref AS key, countMerge(results) AS rows FROM requesters_daily "
        "WHERE org_id = %(org_id)s AND day >= toDate(%(ld_from)s) AND day <= toDate(%(ld_to)s) "
        "AND vkey = '*' GROUP BY key ORDER BY rows DESC, key LIMIT %(top)s"
    )


# The envelopes (names) of the top sellers, from their monthly rows: reading them from seller_days
# would read a 200-byte envelope state for every seller-day row of the period.
SELLER_NAMES_SQL = (
    "SELECT seller_ref, anyMerge(seller_sealed) FROM sellers_monthly WHERE org_id = %(org_id)s "
    "AND month >= %(lm_from)s AND month <= %(lm_to)s AND seller_ref IN %(top_keys)s GROUP BY seller_ref"
)


def unit_sql(query: TrendQuery) -> str:
    """Per rollup unit (hour or day), dimension value and vkey: its result rows and 价税合计 — cheap,
    no set is merged. Rows of (unit, dim, vkey, name, results, total)."""
    unit, _, _, name = _ROLLUP[query.source]
    return (
        f"SELECT toString({unit}) AS u, {_dim(query)} AS dim, vkey, {name}, countMerge(results), "
        f"toString(sumMerge(total_sum)) FROM {query.source} WHERE {_rollup_where(query)} "
        "GROUP BY u, dim, vkey"
    )


def sets_sql(query: TrendQuery) -> str:
    """The exact check counts of the listed units (merging their sets). Rows of (unit, dim, vkey, checks)."""
    unit = _ROLLUP[query.source][0]
    return (
        f"SELECT toString({unit}) AS u, {_dim(query)} AS dim, vkey, uniqExactMerge(checks) "
        f"FROM {query.source} WHERE {_rollup_where(query)} AND toString({unit}) IN %(units)s "
        "GROUP BY u, dim, vkey"
    )


_CACHE_WHERE = (
    "org_id = %(org_id)s AND source = %(cache_source)s AND month >= %(m_first)s AND month <= %(m_last)s "
    "AND unit >= %(u_first)s AND unit <= %(u_last)s"
)


def _cache_where(query: TrendQuery) -> str:
    """The remembered counts of the query's units (of its top values only, when ranked: the counts of
    every seller ever shown would otherwise be read)."""
    return f"{_CACHE_WHERE} AND dim IN %(top_keys)s" if query.ranked else _CACHE_WHERE


def cached_sql(query: TrendQuery) -> str:
    """Rows of (unit, dim, vkey, results, checks, amount or '') remembered for the query's units."""
    return (
        "SELECT unit, dim, vkey, results, checks, if(amount_known, toString(amount), '') "
        f"FROM rollup_counts FINAL WHERE {_cache_where(query)}"
    )


CACHE_COLUMNS = (
    "org_id", "source", "month", "unit", "dim", "vkey", "results", "checks",
    "amount", "amount_known", "version",
)  # fmt: skip


def trend_sql(query: TrendQuery) -> str:
    """The trend straight from rollup units and their remembered counts, added up into buckets.

    Rows of (bucket, period, dim, name, checks, 一致, 不一致, amount, units to fix, units not known):
    when the last two are empty (the usual case) the answer is complete; else the caller counts the
    units' sets (units.py) and remembers them.
    """
    unit, is_date, _, name = _ROLLUP[query.source]
    checks = "1" if query.dimension is Dimension.VERDICT else "vkey = '*'"
    moment = "toDate(u)" if is_date else "toDateTime(u, 'UTC')"
    period = "toDate(u) >= toDate(%(ld_from)s)" if is_date else f"{moment} >= toDateTime(%(t_start)s, 'UTC')"
    return (
        f"SELECT {bucket_sql(query.bucket, moment, is_date=is_date)} AS bucket, "
        f"if({period}, 'current', 'previous') AS period, dim, any(name), "
        f"sumIf(cn, {checks}), sumIf(cn, vkey = 'consistent'), sumIf(cn, vkey = 'inconsistent'), "
        "sumIf(s, vkey = 'consistent' AND r <= cn) + sumIf(ca, vkey = 'consistent' AND r > cn AND known), "
        "groupArrayIf(u, vkey = 'consistent' AND r > cn AND NOT known AND cr = r), groupArrayIf(u, cr != r) "
        f"FROM (SELECT toString({unit}) AS u, {_dim(query)} AS dim, vkey, {name} AS name, "
        "countMerge(results) AS r, sumMerge(total_sum) AS s "
        f"FROM {query.source} WHERE {_rollup_where(query)} GROUP BY u, dim, vkey) AS units "
        "ANY LEFT JOIN (SELECT unit AS u, dim, vkey, results AS cr, checks AS cn, amount AS ca, "
        f"amount_known AS known FROM rollup_counts FINAL WHERE {_cache_where(query)}) AS counted "
        "USING (u, dim, vkey) "
        "GROUP BY bucket, period, dim"
    )


def raw_sql(query: TrendQuery) -> str:
    """Hour buckets by region, type, seller or requester: check_results at newest results (FINAL)."""
    dim = _RAW_DIM[query.dimension]
    name = _RAW_NAME.get(query.dimension, "''") if query.dimension else "''"
    ranked = f" AND {dim} IN %(top_keys)s" if query.ranked else ""
    return (
        f"SELECT {bucket_sql(query.bucket, 'requested_at')} AS bucket, "
        "if(requested_at >= toDateTime(%(t_start)s, 'UTC'), 'current', 'previous') AS period, "
        f"{dim} AS dim, any({name}), uniqExact(check_id), uniqExactIf(check_id, verdict = 'consistent'), "
        "uniqExactIf(check_id, verdict = 'inconsistent'), sumIf(total, verdict = 'consistent'), "
        f"emptyArrayString() FROM check_results FINAL PREWHERE {_RAW_RANGE} WHERE 1{ranked} "
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
        column = {None: "'all'", Dimension.REGION: KEY_REGION_SQL, Dimension.SELLER: "seller_ref"}[dim]
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
    """Exact 一致 amounts of the listed units (hours, or local days), each check counted once.

    The unit is a function of the request time, the same in every result of a check, so it may
    filter before FINAL (PREWHERE), and `unit_dates` (UTC dates) lets the primary key skip the rest.
    """
    if query.source is Source.HOURLY:
        unit = "toString(toStartOfHour(requested_at))"
    else:
        unit = "toString(toDate(requested_at, 'Asia/Shanghai'))"
    dim = _RAW_DIM[query.dimension]
    return (
        f"SELECT {unit} AS unit, {dim} AS dim, sum(total) FROM check_results FINAL "
        f"PREWHERE {_RAW_RANGE} AND requested_date IN %(unit_dates)s AND {unit} IN %(units)s "
        "WHERE verdict = 'consistent' GROUP BY unit, dim"
    )


def unit_dates(query: TrendQuery, units: list[str]) -> tuple[str, ...]:
    """The UTC dates holding these units: an hour's own date, or a Shanghai day's date and the day before."""
    dates = set()
    for unit in units:
        day = date.fromisoformat(unit[:10])
        dates.add(day)
        if query.source is not Source.HOURLY:
            dates.add(day - timedelta(days=1))
    return tuple(sorted(d.isoformat() for d in dates))
