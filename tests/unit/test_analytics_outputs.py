"""What people read: report sentences, CSV/XLSX files, charts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from fapiao.analytics import charts
from fapiao.analytics.catalog import Bucket
from fapiao.analytics.charts import ChartName, chart_spec, render
from fapiao.analytics.export import HISTORY_COLUMNS, XlsxWriter, csv_chunk, history_values, table_bytes
from fapiao.analytics.narrative import PeriodFacts, RiskySeller, summarise, unusual_regions
from fapiao.analytics.series import Metrics, Series, Trend
from fapiao.analytics.trends import TrendQuery

FROM, TO = date(2026, 11, 1), date(2026, 11, 30)


def _series(key: str, zh: str, now: Metrics, before: Metrics) -> Series:
    return Series(key, zh, key, {}, now, before)


def facts() -> PeriodFacts:
    total = _series(
        "all",
        "全部",
        Metrics(1000, 950, 30, 12, Decimal("123456.78")),
        Metrics(800, 780, 15, 4, Decimal("100000")),
    )
    regions = [
        _series("1100", "北京", Metrics(700, 690, 8), Metrics(600, 590, 8)),
        _series("4400", "广东", Metrics(200, 170, 20), Metrics(180, 175, 5)),
        _series("3100", "上海", Metrics(90, 88, 2), Metrics(20, 20, 0)),
    ]
    sellers = [RiskySeller("91440300MA5XXXXX1X", "深圳某某贸易有限公司", 40, 12, 3)]
    return PeriodFacts(FROM, TO, total, regions, [], sellers)


def test_the_summary_says_what_rose_fell_who_is_risky_and_where_in_both_languages() -> None:
    said = summarise(facts())
    assert len(said.zh) == len(said.en)
    assert said.zh[0] == "2026年11月01日至2026年11月30日共查验发票 1,000 张，较上期上升 25.0%。"
    assert (
        said.en[0]
        == "1,000 invoices checked from 01 Nov 2026 to 30 Nov 2026, up 25.0% on the previous period."
    )
    assert any("查验一致率 95.0%，较上期下降 2.5 个百分点" in s for s in said.zh)
    assert any("¥123,456.78" in s for s in said.zh)
    assert any("增长最多的地区是上海（+350.0%）" in s for s in said.zh)
    assert any("深圳某某贸易有限公司（异常结果 12 张，占 30%；预警 3 次）" in s for s in said.zh)
    assert any("异常地区：广东（10.0%）" in s for s in said.zh)
    assert any(s.startswith("Unusual regions: 4400 (10.0%)") for s in said.en)


def test_no_checks_is_one_sentence() -> None:
    empty = PeriodFacts(FROM, TO, _series("all", "全部", Metrics(), Metrics()), [], [], [])
    assert summarise(empty).zh == ["2026年11月01日至2026年11月30日期间没有查验记录。"]


def test_unusual_regions_need_volume_and_distance() -> None:
    overall = Metrics(1000, 950, 30)
    small = _series("x", "x", Metrics(10, 5, 5), Metrics())
    far = _series("y", "y", Metrics(100, 80, 20), Metrics())
    near = _series("z", "z", Metrics(100, 96, 4), Metrics())
    assert unusual_regions([small, far, near], overall) == [far]


def test_csv_has_a_bom_header_once_and_plain_values() -> None:
    first = csv_chunk([["a", Decimal("1.50"), None, date(2026, 1, 2)]], header=["k", "v", "n", "d"])
    assert first.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(first.decode("utf-8-sig"))))
    assert rows == [["k", "v", "n", "d"], ["a", "1.50", "", "2026-01-02"]]
    assert not csv_chunk([["b"]]).startswith("\ufeff".encode())


def test_history_values_follow_the_columns_in_beijing_time() -> None:
    item = {
        "check_id": "c",
        "requested_at": datetime(2026, 11, 27, 16, 30, tzinfo=UTC),
        "decided_at": datetime(2026, 11, 27, 16, 30, tzinfo=UTC),
        "verdict": "voided",
        "fplx": "10",
        "region": "1100",
        "mismatched_fields": ["amount", "date"],
        "follow_up": True,
        "total": Decimal("1.00"),
    }
    values = dict(zip([k for k, _ in HISTORY_COLUMNS], history_values(item), strict=True))
    assert values["requested_at"] == datetime(2026, 11, 28, 0, 30)
    assert (values["verdict_zh"], values["region_name"], values["type_name"]) == (
        "作废",
        "北京",
        "增值税电子普通发票",
    )
    assert values["mismatched_fields"] == "amount;date" and values["follow_up"] == 1


def test_xlsx_reads_back_with_openpyxl() -> None:
    writer = XlsxWriter("查验记录", ["编号", "金额"], notes=[("filter", "x")])
    writer.add([["a", Decimal("12.34")], ["b", Decimal("0.10")]])
    out = io.BytesIO()
    writer.finish(out)
    book = load_workbook(io.BytesIO(out.getvalue()))
    assert [list(r) for r in book["查验记录"].iter_rows(values_only=True)] == [
        ["编号", "金额"],
        ["a", 12.34],
        ["b", 0.1],
    ]
    assert book["说明 About"]["A1"].value == "filter"
    assert table_bytes(["a"], [[1]], "csv", "t").decode("utf-8-sig") == "a\r\n1\r\n"


def _trends() -> dict[str, Trend]:
    query = TrendQuery(FROM, date(2026, 11, 3), Bucket.DAY)
    days = ["2026-11-01", "2026-11-02", "2026-11-03"]
    total = Series("all", "全部", "all", {d: Metrics(10, 9, 1, 1, Decimal(5)) for d in days})
    verdict = Series("consistent", "一致", "consistent", {d: Metrics(9) for d in days})
    return {
        "total": Trend(query, days, [total]),
        "verdict": Trend(query, days, [verdict]),
        "region": Trend(query, days, []),
        "type": Trend(query, days, []),
    }


@pytest.mark.parametrize("name", list(ChartName))
def test_every_chart_renders_png_and_svg(name: ChartName) -> None:
    spec = chart_spec(name, _trends(), facts())
    assert render(spec, "png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in render(spec, "svg")


def test_charts_fall_back_to_english_without_a_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    svg = render(chart_spec(ChartName.REGIONS, _trends(), facts()), "svg")
    assert b"Checks by region" in svg or b"<svg" in svg
    assert charts.chart_spec(ChartName.CHECKS, _trends(), facts()).series[0][1] == [10.0, 10.0, 10.0]
