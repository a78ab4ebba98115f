"""The SQL of trends: units' fingerprints (checks_hourly), their exact figures (unit_figures, computed
from check_results FINAL), rankings over those, check_results for hour buckets by
region/type/seller/requester, and alerts. Pure text with `%(name)s` parameters; user input only ever
selects among these (TrendQuery's enums)."""

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
_UNIT_SQL = {
    True: "toString(toStartOfHour(requested_at))",
    False: "toString(toDate(requested_at, 'Asia/Shanghai'))",
}
# rollup -> (the dimension in check_results, the name column, which rows have that dimension).
# Sellers and requesters are pseudonyms (HMAC-SM3) and their names SM4-GCM envelopes, which the API
# opens for the series it shows (fapiao.analytics.reveal).
_COMPUTE: dict[Source, tuple[str, str, str]] = {
    Source.HOURLY: ("'all'", "''", "1"),
    Source.SELLERS: ("seller_ref", "any(seller_sealed)", "seller_ref != ''"),
    Source.REQUESTERS: ("requester_ref", "any(requester_sealed)", "requester_ref != ''"),
}
_RAW_NAME = {Dimension.SELLER: "seller_sealed", Dimension.REQUESTER: "requester_sealed"}
_METRIC_KEYS = "('*', 'consistent', 'inconsistent')"
_ALL_VERDICTS = "(" + ", ".join(f"'{v.value}'" for v in Verdict) + ")"

# The result rows of each UTC hour of both periods: the fingerprints of their units (unit_figures).
FINGERPRINT_SQL = (
    "SELECT toString(hour), countMerge(results) FROM checks_hourly WHERE org_id = %(org_id)s "
    "AND vkey = '*' AND hour >= toDateTime(%(p_start)s, 'UTC') AND hour < toDateTime(%(t_end)s, 'UTC') "
    "GROUP BY hour"
)
_FIGURES_WHERE = (
    "org_id = %(org_id)s AND source = %(cache_source)s AND month >= %(m_first)s AND month <= %(m_last)s "
    "AND unit >= %(u_first)s AND unit <= %(u_last)s"
)
# A unit's marker: its latest computation's fingerprint (latest computed_at, then the larger
# fingerprint: the same rule as fapiao.analytics.units.valid_figures). GROUP BY, not FINAL: 18.16
# merges FINAL on one core.
MARKERS_SQL = (
    "SELECT unit, modulo(max(toUInt64(toUInt32(computed_at)) * 4294967296 + fingerprint), 4294967296) "
    f"FROM unit_figures WHERE {_FIGURES_WHERE} AND vkey = '' AND dim = '' GROUP BY unit"
)


def compute_sql(query: TrendQuery) -> str:
    """Rows of (unit, dim, newest verdict, checks, 价税合计, name) of the listed units, from
    check_results FINAL: each check once, at its newest result. The unit is a function of the request
    time, the same in every result of a check, so it filters before FINAL (PREWHERE), and `unit_dates`
    (UTC dates) lets the primary key skip the rest."""
    source = query.source
    if source is Source.DAILY:
        dim, name, where = (REGION_SQL if query.dimension is Dimension.REGION else "fplx"), "''", "1"
    else:
        dim, name, where = _COMPUTE[source]
    unit = _UNIT_SQL[source is Source.HOURLY]
    return (
        f"SELECT {unit} AS u, {dim} AS d, verdict, count(), toString(sum(total)), {name} "
        f"FROM check_results FINAL PREWHERE {_RAW_RANGE} AND requested_date IN %(unit_dates)s "
        f"AND {unit} IN %(units)s WHERE {where} GROUP BY u, d, verdict"
    )


def figures_sql(query: TrendQuery) -> str:
    """Rows of (unit, dim, vkey, fingerprint, checks, amount, name, computed_at) of the query's units,
    markers included, every computation's (fapiao.analytics.units.valid_figures keeps the latest
    marker's, once each: no FINAL, which 18.16 merges on one core); of the top values only, when
    ranked."""
    keys = _ALL_VERDICTS if query.dimension is Dimension.VERDICT else _METRIC_KEYS
    wanted = f"vkey IN {keys}" + (" AND dim IN %(top_keys)s" if query.ranked else "")
    return (
        "SELECT unit, dim, vkey, fingerprint, checks, toString(amount), name, toUInt32(computed_at) "
        f"FROM unit_figures WHERE {_FIGURES_WHERE} AND (({wanted}) OR (dim = '' AND vkey = ''))"
    )


# Valid figures of the current period's days only (ranking, risky sellers): of their marker's
# computation (its fingerprint and computed_at: fapiao.analytics.units.valid_figures), joined in SQL
# so that only the ranked rows leave the server.
_CURRENT_DAYS = (
    "org_id = %(org_id)s AND source = %(cache_source)s AND month >= %(lm_from)s AND month <= %(lm_to)s "
    "AND unit >= %(ld_from)s AND unit <= %(ld_to)s"
)
CURRENT_FIGURES = (
    f"{_CURRENT_DAYS} AND (unit, fingerprint, computed_at) GLOBAL IN (SELECT unit, fingerprint, computed_at "
    "FROM unit_figures FINAL "
    f"WHERE {_CURRENT_DAYS} AND dim = '' AND vkey = '')"
)


def bounds_sql(query: TrendQuery) -> str:
    """Sellers or requesters by their result rows in the period's days, a page at a time (`offset`,
    `count`): upper bounds of their exact checks, for fapiao.analytics.ranking. Row counts only (no set
    is merged), from the rollups ordered by day first, so the period's rows are read, nothing else;
    tight (within the share of redelivered and re-versioned rows), so one page usually decides."""
    table, key = (
        ("sellers_daily", "seller_ref")
        if query.dimension is Dimension.SELLER
        else ("requesters_daily", "requester_ref")
    )
    return (
        f"SELECT {key} AS key, countMerge(results) AS rows FROM {table} "
        "WHERE org_id = %(org_id)s AND day >= toDate(%(ld_from)s) AND day <= toDate(%(ld_to)s) "
        "AND vkey = '*' GROUP BY key ORDER BY rows DESC, key LIMIT %(offset)s, %(count)s"
    )


# The exact checks of listed sellers or requesters over the period's days (their units known), and of
# all of them (when many are close to the N-th: fapiao.analytics.ranking).
EXACT_CHECKS_SQL = (
    f"SELECT dim, sum(checks) FROM unit_figures FINAL WHERE {CURRENT_FIGURES} AND vkey = '*' "
    "AND dim IN %(keys)s GROUP BY dim"
)
ALL_CHECKS_SQL = (
    f"SELECT dim, sum(checks) AS n FROM unit_figures FINAL WHERE {CURRENT_FIGURES} AND vkey = '*' "
    "GROUP BY dim ORDER BY n DESC, dim LIMIT %(top)s"
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


def unit_dates(query: TrendQuery, units: list[str]) -> tuple[str, ...]:
    """The UTC dates holding these units: an hour's own date, or a Shanghai day's date and the day before."""
    dates = set()
    for unit in units:
        day = date.fromisoformat(unit[:10])
        dates.add(day)
        if query.source is not Source.HOURLY:
            dates.add(day - timedelta(days=1))
    return tuple(sorted(d.isoformat() for d in dates))
