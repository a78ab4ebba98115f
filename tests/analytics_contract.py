"""Analytics queries every ClickHouse engine must answer alike: the rollups, trends and history.

Run on current ClickHouse (chdb, tests/unit/test_analytics_chdb.py) and on the 18.16 server
(tests/integration/test_analytics_server.py) against the same data, with the same expectations.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from fapiao.analytics.catalog import Bucket, Dimension
from fapiao.analytics.filters import CheckFilters, time_range
from fapiao.analytics.history import Cursor, CursorError, HistoryQuery, Order, SortKey
from fapiao.analytics.reveal import open_row, open_trend
from fapiao.analytics.trends import TrendQuery
from fapiao.warehouse import migrations
from fapiao.warehouse.count_warmer import warm_counts
from fapiao.warehouse.engine import Engine
from fapiao.warehouse.history import fetch_page, iterate
from fapiao.warehouse.party_names import sealed_filters
from fapiao.warehouse.trends import fetch_trend
from tests.analytics_data import (
    OTHER_SELLER,
    SEALER,
    SELLER,
    alert,
    at,
    insert_alerts,
    insert_results,
    ref,
    requester_ref,
    result,
    scalar,
)

TODAY = date(2026, 11, 28)
CURRENT = (date(2026, 11, 22), date(2026, 11, 28))


@dataclass(frozen=True)
class Dataset:
    ids: dict[str, str]  # name -> check id


def load(engine: Engine) -> Dataset:
    """The scenario: redeliveries, version changes, a 数电 check, another organisation, alerts."""
    migrations.migrate(engine)
    ids = {name: uuid.uuid4() for name in ("c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8")}
    c1 = result(ids["c1"], "consistent", at(25))
    results = [
        c1,
        c1,  # redelivered
        result(ids["c2"], "pending_sync", at(25), number="22345678"),
        result(ids["c2"], "consistent", at(25), version=2, number="22345678", total="226.00"),
        result(ids["c3"], "consistent", at(26, 5), number="32345678", total="339.00", seller=OTHER_SELLER),
        result(
            ids["c3"], "voided", at(26, 5), version=2, number="32345678", total="339.00", seller=OTHER_SELLER
        ),
        result(ids["c4"], "inconsistent", at(26, 5), number="42345678", requester="bob", risk_score=70),
        result(
            ids["c5"],
            "consistent",
            at(27, 10),
            code="",
            number="26322000000000000001",
            fplx="32",
            total="50.00",
        ),
        result(ids["c6"], "consistent", at(18), number="62345678", total="100.00"),
        result(ids["c7"], "consistent", at(25), org_id="rival", number="72345678"),
        result(ids["c8"], "consistent", at(27, 10), number="82345678", total="10.00"),
    ]
    insert_results(engine, results)
    # a refresh that answered 一致 again: two 一致 rows of one check, in another insert
    insert_results(
        engine, [result(ids["c8"], "consistent", at(27, 10), version=2, number="82345678", total="10.00")]
    )
    insert_alerts(engine, [alert(results[6]), alert(results[9])])
    return Dataset({k: str(v) for k, v in ids.items()})


def check_rollups_count_each_check_once(engine: Engine, data: Dataset) -> None:
    assert int(scalar(engine, "SELECT count() FROM check_results WHERE org_id = 'acme'")) >= 7
    by_verdict = dict(
        engine.execute(
            "SELECT vkey, uniqExactMerge(checks) FROM checks_hourly WHERE org_id = 'acme' "
            "AND hour >= toDateTime('2026-11-21 16:00:00', 'UTC') GROUP BY vkey"
        )
    )
    assert {k: int(v) for k, v in by_verdict.items()} == {
        "*": 6, "consistent": 5, "pending_sync": 1, "voided": 1, "inconsistent": 1,
    }  # fmt: skip
    # checks_daily and seller_days are gone (migration 021: nothing read them); the region and type
    # figures are the trends' (check_trend_dimensions)
    gone = engine.execute(
        "SELECT name FROM system.tables WHERE database = currentDatabase() "
        "AND name IN ('checks_daily', 'checks_daily_mv', 'seller_days', 'seller_days_mv')"
    )
    assert gone == []
    sellers = engine.execute(  # by pseudonym (sealed rows: migration 010)
        "SELECT seller_ref, vkey, uniqExactMerge(checks) FROM sellers_daily WHERE org_id = 'acme' "
        "AND day >= '2026-11-22' AND vkey IN ('*', '!') GROUP BY seller_ref, vkey "
        "ORDER BY seller_ref, vkey"
    )
    assert [(k, v, int(n)) for k, v, n in sellers] == sorted([
        (ref(SELLER), "*", 4), (ref(OTHER_SELLER), "!", 1), (ref(OTHER_SELLER), "*", 1),
    ])  # fmt: skip
    ranking = engine.execute(
        "SELECT seller_ref, sum(results), sum(problem_results) FROM sellers_monthly "
        "WHERE org_id = 'acme' GROUP BY seller_ref ORDER BY seller_ref"
    )  # result rows, for ranking only: c1 twice, c8 twice
    assert [(k, int(r), int(p)) for k, r, p in ranking] == sorted(
        [(ref(SELLER), 7, 0), (ref(OTHER_SELLER), 2, 1)]
    )
    requesters = engine.execute(
        "SELECT requester_ref, uniqExactMerge(checks) FROM requesters_daily WHERE org_id = 'acme' "
        "AND day >= '2026-11-22' AND vkey = '*' GROUP BY requester_ref ORDER BY requester_ref"
    )
    assert [(k, int(n)) for k, n in requesters] == sorted(
        [(requester_ref("alice"), 5), (requester_ref("bob"), 1)]
    )
    for table, column in (("check_results", "seller_tax_id"), ("check_results", "seller_name"),
                          ("check_results", "buyer_name"), ("check_results", "requester"),
                          ("risk_alerts", "seller_tax_id")):  # fmt: skip
        assert int(scalar(engine, f"SELECT countIf({column} != '') FROM {table}")) == 0, (table, column)


def check_trend_totals(engine: Engine, data: Dataset) -> None:
    for bucket in (Bucket.HOUR, Bucket.DAY, Bucket.WEEK, Bucket.MONTH):
        trend = fetch_trend(engine, "acme", TrendQuery(*CURRENT, bucket=bucket))
        (total,) = trend.series
        now, before = total.current, total.previous
        # each check once, at its newest result: c3 is 作废 now, c2 一致, c1 and c8 once
        assert (now.checks, now.consistent, now.inconsistent, now.alerted) == (6, 4, 1, 1)
        assert now.amount == Decimal("399.00"), bucket  # 113 + 226 + 50 + 10
        assert (before.checks, before.consistent, before.amount) == (1, 1, Decimal("100.00"))
        assert sum(p.checks for p in total.points.values()) == 6
    day = fetch_trend(engine, "acme", TrendQuery(*CURRENT, bucket=Bucket.DAY)).series[0].points
    assert [day[d].checks for d in ("2026-11-25", "2026-11-26", "2026-11-27")] == [2, 2, 2]
    assert day["2026-11-22"].checks == 0 and next(iter(day)) == "2026-11-22" and len(day) == 7
    assert total.change["checks_pct"] == 500.0


def check_trend_dimensions(engine: Engine, data: Dataset) -> None:
    def series(dimension: Dimension, bucket: Bucket = Bucket.DAY) -> dict[str, tuple[int, int, Decimal]]:
        trend = fetch_trend(engine, "acme", TrendQuery(*CURRENT, bucket=bucket, dimension=dimension))
        return {s.key: (s.current.checks, s.current.alerted, s.current.amount) for s in trend.series}

    assert series(Dimension.REGION) == {"1100": (5, 1, Decimal("349.00")), "3200": (1, 0, Decimal("50.00"))}
    assert series(Dimension.TYPE) == {"10": (5, 1, Decimal("349.00")), "32": (1, 0, Decimal("50.00"))}
    verdicts = series(Dimension.VERDICT)  # newest verdicts: they add up to the checks
    assert {k: v[0] for k, v in verdicts.items() if v[0]} == {"consistent": 4, "voided": 1, "inconsistent": 1}
    assert verdicts["inconsistent"][:2] == (1, 1)
    sellers = series(Dimension.SELLER)
    assert sellers[ref(SELLER)][0] == 4 and sellers[ref(OTHER_SELLER)][0] == 1
    assert series(Dimension.REQUESTER) == {
        requester_ref("alice"): (5, 0, Decimal("399.00")),
        requester_ref("bob"): (1, 1, Decimal("0.00")),
    }
    daily = open_trend(SEALER, fetch_trend(engine, "acme", TrendQuery(*CURRENT, dimension=Dimension.SELLER)))
    assert {s.key: s.label_zh for s in daily.series} == {
        ref(SELLER): SELLER.name,
        ref(OTHER_SELLER): OTHER_SELLER.name,
    }
    by_requester = fetch_trend(engine, "acme", TrendQuery(*CURRENT, dimension=Dimension.REQUESTER))
    assert sorted(s.label_en for s in open_trend(SEALER, by_requester).series) == ["alice", "bob"]
    # hourly by seller/requester reads check_results at newest results too: c3 counts as voided
    hourly = fetch_trend(engine, "acme", TrendQuery(*CURRENT, bucket=Bucket.HOUR, dimension=Dimension.SELLER))
    other = next(s for s in open_trend(SEALER, hourly).series if s.key == ref(OTHER_SELLER))
    assert (other.current.checks, other.current.consistent, other.label_zh) == (
        1,
        0,
        "上海浦东样例贸易有限公司",
    )
    top1 = fetch_trend(engine, "acme", TrendQuery(*CURRENT, dimension=Dimension.REQUESTER, top=1))
    assert [s.key for s in top1.series] == [requester_ref("alice")]
    assert fetch_trend(engine, "nobody", TrendQuery(*CURRENT, dimension=Dimension.SELLER)).series == []


def check_trends_are_scoped(engine: Engine, data: Dataset) -> None:
    rival = fetch_trend(engine, "rival", TrendQuery(*CURRENT)).series[0].current
    assert (rival.checks, rival.alerted) == (1, 1)
    assert fetch_trend(engine, "nobody", TrendQuery(*CURRENT)).series == []


def _all(engine: Engine, query: HistoryQuery, org: str = "acme") -> list[str]:
    return [item["check_id"] for page in iterate(engine, org, query, TODAY, 1000) for item in page]


def check_history(engine: Engine, data: Dataset) -> None:
    ids = data.ids
    everything = HistoryQuery(CheckFilters(date_from=CURRENT[0]), limit=50)
    page = fetch_page(engine, "acme", everything, None, TODAY)
    got = [i["check_id"] for i in page.items]
    assert set(got) == {ids[n] for n in ("c1", "c2", "c3", "c4", "c5", "c8")} and page.next_cursor is None
    assert [i["requested_at"] for i in page.items] == sorted(
        (i["requested_at"] for i in page.items), reverse=True
    )
    by_id = {i["check_id"]: open_row(SEALER, i) for i in page.items}
    assert by_id[ids["c3"]]["verdict"] == "voided" and by_id[ids["c3"]]["result_version"] == 2
    assert by_id[ids["c2"]]["total"] == Decimal("226.00") and by_id[ids["c5"]]["region"] == "3200"
    assert (
        by_id[ids["c4"]]["risk_score"] == 70 and by_id[ids["c1"]]["seller_name"] == "北京海淀示例科技有限公司"
    )
    # every page size walks the same rows in the same order, none twice
    for size in (1, 2, 4):
        assert _all(engine, HistoryQuery(CheckFilters(date_from=CURRENT[0]), limit=size)) == got
        ascending = HistoryQuery(CheckFilters(date_from=CURRENT[0]), order=Order.ASC, limit=size)
        assert _all(engine, ascending) == got[::-1]
    by_total = _all(engine, HistoryQuery(CheckFilters(), sort=SortKey.TOTAL, limit=2))
    totals = [by_id.get(i, {}).get("total", Decimal("100.00")) for i in by_total]
    assert totals == sorted(totals, reverse=True) and len(by_total) == 7  # c6 too: no date_from
    assert _all(engine, HistoryQuery(CheckFilters(), sort=SortKey.ISSUE_DATE, order=Order.ASC, limit=3))


def check_history_filters(engine: Engine, data: Dataset) -> None:
    ids = data.ids

    def only(**filters: object) -> set[str]:
        wanted = CheckFilters(**filters)  # type: ignore[arg-type]
        span = time_range(wanted, TODAY)
        found = _all(engine, HistoryQuery(sealed_filters(engine, "acme", wanted, span, SEALER), limit=3))
        return {name for name, check in ids.items() if check in found}

    assert only(verdicts=("voided",)) == {"c3"}
    assert only(verdicts=("consistent",)) == {"c1", "c2", "c5", "c6", "c8"}  # c3 is voided now
    assert only(seller="91310115MA1K4ABC2X") == {"c3"} == only(seller="浦东")
    assert only(buyer="朝阳", verdicts=("consistent",), amount_min=Decimal("200")) == {"c2"}
    assert only(amount_min=Decimal("200"), amount_max=Decimal("400")) == {"c2", "c3"}
    assert (
        only(invoice_number="26322000000000000001")
        == {"c5"}
        == only(types=("32",))
        == only(regions=("3200",))
    )
    assert only(invoice_code="011002300111", requester="bob") == {"c4"} == only(min_risk_score=60)
    assert only(date_from=date(2026, 11, 18), date_to=date(2026, 11, 18)) == {"c6"}
    assert only(date_from=date(2026, 11, 25), date_to=date(2026, 11, 25)) == {"c1", "c2"}
    assert only(invoice_number="72345678") == set()  # the other organisation's check
    assert only(seller="无此公司") == set() == only(seller="91110000000000000X")


def check_history_is_scoped_and_cursors_are_checked(engine: Engine, data: Dataset) -> None:
    assert _all(engine, HistoryQuery(CheckFilters()), org="rival") == [data.ids["c7"]]
    assert _all(engine, HistoryQuery(CheckFilters()), org="nobody") == []
    query = HistoryQuery(CheckFilters(), limit=1)
    page = fetch_page(engine, "acme", query, None, TODAY)
    assert page.next_cursor is not None
    other = HistoryQuery(CheckFilters(verdicts=("voided",)), limit=1)
    with pytest.raises(CursorError):
        Cursor.decode(page.next_cursor, other.fingerprint())
    with pytest.raises(CursorError):
        Cursor.decode("not-a-cursor", query.fingerprint())


CHECKS = (
    check_rollups_count_each_check_once,
    check_trend_totals,
    check_trend_dimensions,
    check_trends_are_scoped,
    check_history,
    check_history_filters,
    check_history_is_scoped_and_cursors_are_checked,
)


def check_region_sql_matches_the_domain_rule(engine: Engine, data: Dataset) -> None:
    from fapiao.analytics.catalog import KEY_REGION_SQL, REGION_SQL
    from fapiao.domain.invoice_codes import region_of

    cases = [
        ("011002300111", "12345678", "1100"),  # 12-digit e-invoice code, Beijing
        ("4403231130", "12345678", "4403"),  # 10-digit, 深圳 keeps its own code
        ("1320123420000", "12345678", None),  # not a real length: whatever SQL says, no crash
        ("144031539110", "12345678", "4403"),
        ("033022300104", "12345678", "3302"),  # 宁波
        ("034012300104", "12345678", "3400"),
        ("", "26322000000000000001", "3200"),  # 数电: province from the number
        ("", "12345678", ""),
    ]
    for code, number, want in cases:
        got, from_key = engine.execute(
            f"SELECT {REGION_SQL}, {KEY_REGION_SQL} FROM (SELECT %(c)s AS invoice_code, "
            "%(n)s AS invoice_number, if(%(c)s = '', %(n)s, concat(%(c)s, '-', %(n)s)) AS invoice_key)",
            {"c": code, "n": number},
        )[0]
        assert got == from_key
        if want is not None:
            assert got == want, (code, number, got)
            if code and len(code) in (10, 12):
                assert region_of(code) == want


CHECKS = (*CHECKS, check_region_sql_matches_the_domain_rule)


def check_bi_views_and_grafana_queries(engine: Engine, data: Dataset) -> None:
    """The documented BI views and every query of the provisioned Grafana dashboard run and agree."""
    import json
    import re
    from pathlib import Path

    warm_counts(engine, TODAY, 30, ["acme"])  # the rollup views show the units' computed figures
    hourly = {
        str(k): int(n)
        for k, n in engine.execute(
            "SELECT vkey, sum(checks) FROM bi_checks_hourly WHERE org_id = 'acme' GROUP BY vkey"
        )
    }
    assert hourly["*"] == 7 == sum(n for k, n in hourly.items() if k != "*")  # newest verdicts add up
    assert hourly["consistent"] == 5
    assert int(scalar(engine, "SELECT count() FROM bi_checks WHERE org_id = 'acme'")) == 7
    assert int(scalar(engine, "SELECT count() FROM bi_alerts WHERE org_id = 'acme'")) == 1
    expected = {"bi_checks_daily": 14, "bi_sellers_daily": 6, "bi_requesters_daily": 7}  # c4 shows no seller
    for view, checks in expected.items():
        got = scalar(engine, f"SELECT sum(checks) FROM {view} WHERE org_id = 'acme' AND vkey = '*'")
        assert int(got) == checks, view

    root = Path(__file__).resolve().parents[1]
    dashboard = json.loads((root / "deploy/grafana/dashboards/fapiao-sentinel.json").read_text("utf-8"))
    start, end = int(at(18).timestamp()), int(at(28).timestamp())

    def expand(sql: str) -> str:  # the plugin's macros, as it expands them
        sql = sql.replace("${org}", "acme").replace("$__fromTime", f"toDateTime({start})")
        sql = sql.replace("$__toTime", f"toDateTime({end})")
        return re.sub(
            r"\$__timeFilter\((\w+)\)", rf"\1 >= toDateTime({start}) AND \1 <= toDateTime({end})", sql
        )

    answers = {p["title"]: engine.execute(expand(p["targets"][0]["rawSql"])) for p in dashboard["panels"]}
    assert sum(int(n) for _, n in answers["Checks per minute 每分钟查验量"]) == 7
    assert dict((k, int(n)) for k, n in answers["Verdict mix 查验结果构成"])["consistent"] == 5  # c3: 作废
    assert [r[1] for r in answers["Top risky sellers 高风险销售方"]] == [ref(OTHER_SELLER)]  # pseudonyms only
    # each check's first result once (c1 was delivered twice): one per check and minute here
    assert len(answers["Verification latency 查验耗时 (s)"]) >= 4
    assert any(float(rate) == 0.5 for _, rate in answers["Alert rate 风险预警率"])
    orgs = engine.execute(dashboard["templating"]["list"][0]["query"])
    assert ("acme",) in [tuple(o) for o in orgs]


CHECKS = (*CHECKS, check_bi_views_and_grafana_queries)


def check_cached_unit_counts_follow_new_rows(engine: Engine, data: Dataset) -> None:
    """A unit's computed figures are used only while its rows are unchanged: a new check (or a new
    result) in an already computed hour is counted at once, and a redelivery changes nothing."""
    query = TrendQuery(*CURRENT, bucket=Bucket.DAY)

    def checks() -> tuple[int, int]:
        now = fetch_trend(engine, "cache-org", query).series[0].current
        return now.checks, now.consistent

    first = result(uuid.uuid4(), "pending_sync", at(26, 8), org_id="cache-org")
    insert_results(engine, [first])
    assert checks() == (1, 0)
    cached = int(scalar(engine, "SELECT count() FROM unit_figures WHERE org_id = 'cache-org'"))
    assert cached >= 2  # the hour's figures and its marker are remembered
    insert_results(engine, [result(first.check_id, "consistent", at(26, 8), version=2, org_id="cache-org")])
    assert checks() == (1, 1)
    insert_results(engine, [result(uuid.uuid4(), "inconsistent", at(26, 8), org_id="cache-org")])
    assert checks() == (2, 1)
    insert_results(engine, [result(first.check_id, "consistent", at(26, 8), version=2, org_id="cache-org")])
    assert checks() == (2, 1)  # redelivered
    insert_results(engine, [result(first.check_id, "voided", at(26, 8), version=3, org_id="cache-org")])
    assert checks() == (2, 0)  # its newest result is 作废 now: no longer 一致


CHECKS = (*CHECKS, check_cached_unit_counts_follow_new_rows)
