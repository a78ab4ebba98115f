"""Pure query building of history and trends: filters, cursors, windows, buckets, change, retention."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from fapiao.analytics import lookups
from fapiao.analytics.catalog import Bucket, Dimension, label
from fapiao.analytics.filters import CheckFilters, compile_filters, date_problems, local_days, time_range
from fapiao.analytics.history import (
    Cursor,
    CursorError,
    HistoryQuery,
    Order,
    SortKey,
    candidates_sql,
    date_windows,
    page_sql,
)
from fapiao.analytics.series import Metrics, build_trend, change
from fapiao.analytics.trend_sql import compute_sql, figures_sql, unit_dates
from fapiao.analytics.trends import Source, TrendQuery, bucket_keys
from fapiao.warehouse.count_warmer import slices
from fapiao.warehouse.retention import cutoff_month, partitions_to_drop

TODAY = date(2026, 11, 28)


def test_local_days_are_beijing_days() -> None:
    span = local_days(date(2026, 11, 1), date(2026, 11, 30))
    assert span.start == datetime(2026, 10, 31, 16, tzinfo=UTC) and span.end == datetime(
        2026, 11, 30, 16, tzinfo=UTC
    )
    assert (span.first_date, span.last_date) == (date(2026, 10, 31), date(2026, 11, 30))
    assert time_range(CheckFilters(), TODAY).first_date == date(1999, 12, 31)


def test_every_compiled_filter_is_scoped_and_bound() -> None:
    filters = CheckFilters(
        verdicts=("consistent",), seller="浦东'--", buyer="911101056317066918", amount_min=Decimal("1.5"),
        invoice_number="12345678", requester="a", min_risk_score=60, regions=("1100",),
    )  # fmt: skip
    compiled = compile_filters("org-1", filters, time_range(filters, TODAY))
    assert compiled.prewhere[0] == "org_id = %(org_id)s" and compiled.params["org_id"] == "org-1"
    text = " ".join(compiled.prewhere + compiled.where)
    assert "浦东" not in text and "911101056317066918" not in text and "12345678" not in text
    assert "invoice_number = %(invoice_number)s" in compiled.prewhere  # same in every version: before FINAL
    assert "verdict IN %(verdicts)s" in compiled.where  # may change: after FINAL
    assert "buyer_tax_id = %(buyer)s" in compiled.where and compiled.params["amount_min"] == "1.50"
    assert len(compiled.selective) == 2 and compiled.candidates() is not None
    assert compile_filters("o", CheckFilters(), time_range(CheckFilters(), TODAY)).candidates() is None


@pytest.mark.parametrize(
    "bad",
    [
        {"verdicts": ("maybe",)},
        {"types": ("99x",)},
        {"regions": ("11",)},
        {"invoice_number": "12a"},
        {"date_from": date(2026, 2, 1), "date_to": date(2026, 1, 1)},
        {"amount_min": Decimal(5), "amount_max": Decimal(1)},
        {"min_risk_score": 101},
        {"seller": ""},
        {"date_from": date(1969, 12, 31)},
        {"date_to": date(2100, 1, 1)},
    ],
)
def test_unusable_filters_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CheckFilters(**bad)  # type: ignore[arg-type]


def test_date_problems_name_the_field_in_both_languages() -> None:
    assert date_problems(date_from=date(2000, 1, 1), date_to=date(2099, 12, 31), other=None) == []
    ((field, en, zh),) = date_problems(date_from=date(2026, 1, 1), date_to=date(1000, 1, 1))
    assert field == "date_to" and en.startswith("date_to must be between 2000-01-01")
    assert "截止日期" in zh and "date_to" in zh


def test_cursors_round_trip_and_belong_to_their_query() -> None:
    query = HistoryQuery(CheckFilters(verdicts=("consistent",)), SortKey.TOTAL, Order.ASC, 10)
    cursor = Cursor("113.00", "0b8f…", query.fingerprint())
    assert Cursor.decode(cursor.encode(), query.fingerprint()) == cursor
    with pytest.raises(CursorError):
        Cursor.decode(cursor.encode(), HistoryQuery(CheckFilters()).fingerprint())
    for garbage in ("", "!!!", "e30", "WzFd"):
        with pytest.raises(CursorError):
            Cursor.decode(garbage, query.fingerprint())


def test_date_windows_cover_the_range_once_growing_from_the_sorted_end() -> None:
    newest = list(date_windows(date(2026, 1, 1), date(2026, 1, 31), newest_first=True))
    assert newest[:3] == [
        (date(2026, 1, 31), date(2026, 1, 31)),
        (date(2026, 1, 27), date(2026, 1, 30)),
        (date(2026, 1, 11), date(2026, 1, 26)),
    ]
    assert newest[-1] == (date(2026, 1, 1), date(2026, 1, 10))
    oldest = list(date_windows(date(2026, 1, 1), date(2026, 1, 31), newest_first=False))
    days = [d for lo, hi in oldest for d in range(lo.toordinal(), hi.toordinal() + 1)]
    assert days == list(range(date(2026, 1, 1).toordinal(), date(2026, 1, 31).toordinal() + 1))


def test_page_sql_reads_final_orders_with_a_tiebreak_and_continues_after_the_cursor() -> None:
    query = HistoryQuery(CheckFilters(seller="91310115MA1K4ABC2X"), SortKey.TOTAL, Order.DESC, 20)
    cursor = Cursor("10.00", "abc", query.fingerprint())
    sql, params = page_sql("o", query, time_range(query.filters, TODAY), cursor, 21)
    assert "FROM check_results FINAL PREWHERE org_id = %(org_id)s" in sql
    assert sql.endswith("ORDER BY toInt64(total * 100) DESC, toString(check_id) DESC LIMIT %(limit)s")
    assert "toString(check_id) < %(cursor_id)s" in sql and params["cursor_value"] == "10.00"
    assert "check_id IN (SELECT check_id FROM check_results WHERE org_id = %(org_id)s" in sql
    assert "91310115MA1K4ABC2X" not in sql and params["limit"] == 21


def test_other_sorts_take_candidates_without_final_and_rows_by_parsed_keys() -> None:
    query = HistoryQuery(CheckFilters(verdicts=("consistent",)), SortKey.TOTAL, Order.ASC, 20)
    cursor = Cursor("113.00", "00000000-0000-0000-0000-000000000001", query.fingerprint())
    sql, params = candidates_sql("o", query, time_range(query.filters, TODAY), cursor, 34, tie="2")
    assert "FINAL" not in sql and "FROM check_results PREWHERE org_id = %(org_id)s" in sql
    assert "toString(result_version) > %(cursor_tie)s" in sql and params["cursor_tie"] == "2"
    assert sql.endswith("toString(check_id) ASC, toString(result_version) ASC LIMIT %(limit)s")
    ref = "ab" * 32
    key = lookups.RowKey("seller", ref, "2026-11-20 03:00:00", "2026-11-20", str(uuid.UUID(int=1)), 2)
    sql, _ = lookups.party_rows_sql("o", [key])
    assert f"('seller', '{ref}', toDateTime('2026-11-20 03:00:00', 'UTC'), toUUID('{key.check_id}'))" in sql
    assert "requested_date IN (toDate('2026-11-20'))" in sql and "check_party_rows FINAL" in sql
    for bad in (
        replace(key, ref="x' OR 1 --"),
        replace(key, party="requester"),
        replace(key, check_id="1') OR (1"),
        replace(key, requested_at="2026-11-20'"),
        replace(key, requested_date="now()"),
    ):
        with pytest.raises(ValueError):
            lookups.party_rows_sql("o", [bad])
    assert lookups.Newest("c", 1, "", ref).key == ("buyer", ref)
    assert lookups.Newest("c", 1).key == ("", "")


def test_trend_queries_pick_their_source_and_validate() -> None:
    assert TrendQuery(TODAY, TODAY).source is Source.HOURLY
    assert TrendQuery(TODAY, TODAY, Bucket.WEEK, Dimension.SELLER).source is Source.SELLERS
    assert TrendQuery(TODAY, TODAY, Bucket.HOUR, Dimension.REQUESTER).source is Source.RAW
    assert TrendQuery(TODAY, TODAY, Bucket.HOUR, Dimension.VERDICT).source is Source.HOURLY
    assert TrendQuery(date(2026, 11, 1), date(2026, 11, 30)).previous == (
        date(2026, 10, 2),
        date(2026, 10, 31),
    )
    for bad in (
        {"date_from": date(2026, 1, 1), "date_to": date(2026, 3, 1), "bucket": Bucket.HOUR},
        {"date_from": TODAY, "date_to": date(2026, 1, 1)},
        {"date_from": TODAY, "date_to": TODAY, "top": 0},
    ):
        with pytest.raises(ValueError):
            TrendQuery(**bad)  # type: ignore[arg-type]
    sql = compute_sql(TrendQuery(TODAY, TODAY, Bucket.DAY, Dimension.REGION))
    assert "FROM check_results FINAL PREWHERE org_id = %(org_id)s" in sql and "%(top_keys)s" not in sql
    ranked = figures_sql(TrendQuery(TODAY, TODAY, Bucket.WEEK, Dimension.SELLER))
    assert "dim IN %(top_keys)s" in ranked and "(dim = '' AND vkey = '')" in ranked  # with the markers
    assert TrendQuery(TODAY, TODAY, Bucket.HOUR, Dimension.REGION).source is Source.RAW
    assert unit_dates(TrendQuery(TODAY, TODAY, Bucket.WEEK, Dimension.SELLER), ["2026-11-28"]) == (
        "2026-11-27",
        "2026-11-28",
    )


def test_bucket_keys_name_every_bucket_like_the_sql_does() -> None:
    assert bucket_keys(Bucket.DAY, date(2026, 11, 27), date(2026, 11, 29)) == [
        "2026-11-27",
        "2026-11-28",
        "2026-11-29",
    ]
    assert bucket_keys(Bucket.WEEK, date(2026, 11, 28), date(2026, 12, 1)) == ["2026-11-23", "2026-11-30"]
    assert bucket_keys(Bucket.MONTH, date(2026, 11, 28), date(2027, 1, 2)) == [
        "2026-11-01",
        "2026-12-01",
        "2027-01-01",
    ]
    hours = bucket_keys(Bucket.HOUR, TODAY, TODAY)
    assert len(hours) == 24 and hours[0] == "2026-11-28 00:00:00" and hours[-1] == "2026-11-28 23:00:00"


def test_series_fill_missing_buckets_split_periods_and_add_fixed_amounts() -> None:
    query = TrendQuery(date(2026, 11, 27), date(2026, 11, 28), Bucket.DAY, Dimension.REGION)
    main = [
        ("2026-11-27", "current", "1100", "", 10, 8, 1, "100.00", ["2026-11-27 01:00:00"]),
        ("2026-11-25", "previous", "1100", "", 5, 5, 0, "50.00", []),
        ("2026-11-28", "current", "4403", "", 1, 0, 0, "0", []),
    ]
    alerts = [("2026-11-27", "current", "1100", 2), ("2026-11-27", "current", "9999", 1)]
    trend = build_trend(query, main, alerts, {("2026-11-27 01:00:00", "1100"): Decimal("7.50")})
    beijing, shenzhen = trend.series
    assert (beijing.label_zh, shenzhen.label_zh, shenzhen.label_en) == ("北京", "深圳", "Shenzhen")
    assert beijing.points["2026-11-28"] == Metrics() and beijing.points["2026-11-27"].amount == Decimal(
        "107.50"
    )
    assert beijing.current.alerted == 2 and beijing.previous.checks == 5
    assert beijing.change["checks_pct"] == 100.0 and beijing.change["consistent_rate_pp"] == -20.0
    assert shenzhen.current.consistent_rate == 0.0 and Metrics().consistent_rate is None


def test_change_is_percent_for_counts_and_points_for_rates() -> None:
    now, before = (
        Metrics(checks=100, consistent=90),
        Metrics(checks=100, consistent=95),
    )
    assert change(now, before)["checks_pct"] == 0.0 and change(now, before)["consistent_rate_pp"] == -5.0
    assert change(now, Metrics())["checks_pct"] is None


def test_labels() -> None:
    assert label(Dimension.TYPE, "32") == ("电子发票(普通发票)", "fully digital invoice (ordinary)")
    assert label(Dimension.TYPE, "")[1] == "type not determined"
    assert label(Dimension.REGION, "9900") == ("未知地区", "unknown region")
    assert label(Dimension.VERDICT, "red_flushed_full") == ("全额红冲", "fully red-flushed")


def test_retention_keeps_the_current_month_and_the_ones_before() -> None:
    assert cutoff_month(date(2026, 11, 28), 1) == 202611
    assert cutoff_month(date(2026, 11, 28), 12) == 202512
    assert cutoff_month(date(2026, 1, 5), 2) == 202512
    parts = [
        ("check_results", "202510"),
        ("check_results", "202512"),
        ("demo_labels", "tuple()"),
        ("x", "20251"),
    ]
    assert [(p.table, p.month) for p in partitions_to_drop(parts, date(2026, 11, 28), 12)] == [
        ("check_results", "202510")
    ]
    with pytest.raises(ValueError):
        cutoff_month(TODAY, 0)


def test_count_warming_slices_cover_the_days_oldest_first() -> None:
    parts = slices(date(2026, 3, 31), 61)
    assert parts[0] == (date(2026, 1, 30), date(2026, 2, 28)) and parts[-1] == (date(2026, 3, 31),) * 2
    assert sum((b - a).days + 1 for a, b in parts) == 61
    assert slices(date(2026, 3, 31), 1) == [(date(2026, 3, 31), date(2026, 3, 31))]
