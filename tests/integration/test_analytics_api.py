"""History, exports, trends, the period report, charts and custom reports through the real API.

Rows are written straight into the API's ClickHouse database (the rollups fill through their
materialized views as in production); one test also goes through Kafka and the worker.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from openpyxl import load_workbook

from fapiao.crypto.keys import CryptoKeys
from fapiao.crypto.protect import FieldSealer
from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from tests.analytics_data import OTHER_SELLER, SELLER, alert, insert_alerts, insert_results, result
from tests.factories import issued
from tests.integration.conftest import Org, publish_registered

DAY = date(2026, 10, 14)  # a Wednesday; the data spans DAY-2 .. DAY (Beijing time)
PERIOD = {"date_from": (DAY - timedelta(days=6)).isoformat(), "date_to": DAY.isoformat()}
VERDICTS = ("consistent", "consistent", "consistent", "inconsistent", "voided", "not_found")


@pytest.fixture(scope="module")
def orgs(make_org: Callable[..., Org], engine: NativeEngine, settings: Settings) -> tuple[Org, Org]:
    """Two organisations; A has 30 checks over three days (and a version change), B has 5."""
    a, b = make_org("分析甲 Analytics A"), make_org("分析乙 Analytics B")
    rows = []
    for i in range(30):
        at = datetime(DAY.year, DAY.month, DAY.day, 2, tzinfo=UTC) - timedelta(days=i % 3, minutes=i)
        verdict = VERDICTS[i % len(VERDICTS)]
        rows.append(
            result(
                uuid.uuid4(),
                verdict,
                at,
                org_id=a.org_id,
                requester="alice" if i % 2 else "bob",
                number=f"{50000000 + i}",
                total=f"{100 + i}.00",
                seller=OTHER_SELLER if i % 5 == 0 else SELLER,
                risk_score=80 if i == 7 else None,
            )
        )
    rows.append(result(rows[0].check_id, "voided", rows[0].requested_at, version=2, org_id=a.org_id,
                       number="50000000", total="100.00", seller=OTHER_SELLER))  # fmt: skip
    for i in range(5):
        rows.append(
            result(
                uuid.uuid4(), "consistent", rows[i].requested_at, org_id=b.org_id, number=f"{60000000 + i}"
            )
        )
    sealer = FieldSealer.from_keys(CryptoKeys.from_settings(settings))  # as the worker seals them
    insert_results(engine, rows, sealer)
    insert_alerts(engine, [alert(rows[7]), alert(rows[-1])], sealer)
    return a, b


def _get(api_url: str, org: Org, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"{api_url}{path}", params=params, headers=org.headers, timeout=30)  # type: ignore[arg-type]


def _walk(api_url: str, org: Org, **params: object) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        extra = {"cursor": cursor} if cursor else {}
        page = _get(api_url, org, "/v1/history", **params, **extra)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["count"] == len(body["data"])
        items += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def test_history_pages_filters_and_scoping(api_url: str, orgs: tuple[Org, Org]) -> None:
    a, b = orgs
    everything = _walk(api_url, a, limit=7, **PERIOD)
    assert len(everything) == 30 and len({i["check_id"] for i in everything}) == 30
    times = [i["requested_at"] for i in everything]
    assert times == sorted(times, reverse=True)
    first = next(i for i in everything if i["invoice_number"] == "50000000")
    assert first["verdict"] == "voided" and first["result_version"] == 2 and first["verdict_zh"] == "作废"
    assert {i["region_name"] for i in everything} == {"北京"}
    by_total = _walk(api_url, a, limit=4, sort="total", order="asc", **PERIOD)
    assert [Decimal(i["total"]) for i in by_total] == sorted(Decimal(i["total"]) for i in everything)
    voided = _walk(api_url, a, verdict="voided", **PERIOD)
    assert {i["invoice_number"] for i in voided} == {
        "50000000",
        "50000004",
        "50000010",
        "50000016",
        "50000022",
        "50000028",
    }
    sellers = _walk(api_url, a, seller="浦东", amount_min="110", amount_max="125.5", **PERIOD)
    assert {i["invoice_number"] for i in sellers} == {
        "50000010",
        "50000020",
        "50000025",
    }  # 15: 不一致, no face
    assert [i["invoice_number"] for i in _walk(api_url, a, min_risk_score=60, **PERIOD)] == ["50000007"]
    assert _walk(api_url, a, invoice_number="60000001") == []  # B's invoice
    assert len(_walk(api_url, b, **PERIOD)) == 5
    page = _get(api_url, a, "/v1/history", limit=2, **PERIOD).json()
    moved = _get(
        api_url, a, "/v1/history", limit=2, verdict="consistent", cursor=page["next_cursor"], **PERIOD
    )
    assert moved.status_code == 422  # a cursor only continues its own query
    assert _get(api_url, a, "/v1/history", cursor="garbage").status_code == 422
    assert _get(api_url, a, "/v1/history", sort="seller_name; DROP TABLE x").status_code == 422
    assert _get(api_url, a, "/v1/history", verdict="maybe").status_code == 422
    assert httpx.get(f"{api_url}/v1/history", timeout=10).status_code == 401


def test_history_export_csv_and_xlsx(api_url: str, orgs: tuple[Org, Org]) -> None:
    a, _ = orgs
    got = _get(api_url, a, "/v1/history/export", format="csv", verdict="consistent", **PERIOD)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert "attachment" in got.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert len(rows) == 14 and {r["verdict"] for r in rows} == {"consistent"}  # 15 minus the re-versioned one
    assert rows[0]["seller_name"] and rows[0]["requested_at"].startswith("2026-10-14")
    book = _get(api_url, a, "/v1/history/export", format="xlsx", **PERIOD)
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.content), read_only=True)["查验记录"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("查验编号", "查验时间", "结果时间") and values[1][:2] == (
        "check_id",
        "requested_at",
    )
    data = values[2:]
    assert len(data) == 30
    keys = list(values[1])
    totals = sorted(Decimal(str(r[keys.index("total")])) for r in data)
    assert totals == sorted(Decimal(i["total"]) for i in _walk(api_url, a, limit=50, **PERIOD))
    assert {r[keys.index("region_name")] for r in data} == {"北京"}


def test_trends(api_url: str, orgs: tuple[Org, Org]) -> None:
    a, b = orgs
    total = _get(api_url, a, "/v1/analytics/trends", **PERIOD).json()
    (series,) = total["series"]
    # each check once at its newest result: the first check's 一致 was voided by its second version
    assert series["current"]["checks"] == 30 and series["current"]["consistent"] == 14
    assert series["current"]["inconsistent"] == 5 and series["current"]["alerted"] == 1
    assert series["previous"]["checks"] == 0 and series["change"]["checks_pct"] is None
    assert len(series["points"]) == 7 and sum(p["checks"] for p in series["points"]) == 30
    by_verdict = _get(api_url, a, "/v1/analytics/trends", dimension="verdict", bucket="week", **PERIOD).json()
    counts = {s["key"]: s["current"]["checks"] for s in by_verdict["series"]}
    assert counts == {"consistent": 14, "inconsistent": 5, "voided": 6, "not_found": 5}  # 30: they add up
    sellers = _get(api_url, a, "/v1/analytics/trends", dimension="seller", top=1, **PERIOD).json()
    assert [s["label_zh"] for s in sellers["series"]] == ["北京海淀示例科技有限公司"]
    hourly = _get(api_url, a, "/v1/analytics/trends", bucket="hour", dimension="requester", **PERIOD).json()
    assert {s["label_en"] for s in hourly["series"]} == {"alice", "bob"} and len(hourly["buckets"]) == 7 * 24
    assert all(len(s["key"]) == 64 for s in hourly["series"])  # keys are pseudonyms, labels opened
    assert _get(api_url, b, "/v1/analytics/trends", **PERIOD).json()["series"][0]["current"]["checks"] == 5
    too_long = _get(
        api_url, a, "/v1/analytics/trends", bucket="hour", date_from="2026-01-01", date_to="2026-03-01"
    )
    assert too_long.status_code == 422
    assert _get(api_url, a, "/v1/analytics/trends", dimension="buyer").status_code == 422


def test_dates_outside_the_warehouse_are_refused_naming_the_field(
    api_url: str, orgs: tuple[Org, Org]
) -> None:
    a, _ = orgs
    asked = (
        ("/v1/history", {"date_from": "1069-01-01"}, "date_from"),
        ("/v1/history/export", {"format": "csv", "date_to": "1969-12-31"}, "date_to"),
        ("/v1/analytics/report", {"date_to": "1000-01-01"}, "date_to"),
        ("/v1/analytics/trends", {"date_from": "1999-12-31"}, "date_from"),
        ("/v1/analytics/charts/checks.png", {"date_from": "2100-01-01"}, "date_from"),
    )
    for path, params, field in asked:
        got = _get(api_url, a, path, **params)
        assert got.status_code == 422, (path, got.status_code, got.text)
        detail = got.json()["detail"]
        assert detail["field"] == field and detail["code"] == "invalid_date"
        assert field in detail["msg"] and "2000-01-01" in detail["msg"]
        assert field in detail["msg_zh"] and "须在" in detail["msg_zh"]
    assert _get(api_url, a, "/v1/history", date_from="2000-01-01", limit=1).status_code == 200


def test_period_report_and_charts(api_url: str, orgs: tuple[Org, Org]) -> None:
    a, _ = orgs
    got = _get(api_url, a, "/v1/analytics/report", **PERIOD)
    assert got.status_code == 200, got.text
    report = got.json()
    assert report["summary_zh"][0].startswith("2026年10月08日至2026年10月14日共查验发票 30 张")
    assert report["summary_en"][0].startswith("30 invoices checked")
    assert len(report["summary_zh"]) == len(report["summary_en"]) >= 5
    assert report["top_risky_sellers"][0]["name"] == "北京海淀示例科技有限公司"  # 4 voided + 1 alert
    assert report["total"]["current"]["checks"] == 30 and report["bucket"] == "day"
    assert set(report["charts"]) >= {
        "checks",
        "verdicts",
        "consistent-rate",
        "alert-rate",
        "regions",
        "risky-sellers",
    }
    for name, url in report["charts"].items():
        png = httpx.get(f"{api_url}{url}", headers=a.headers, timeout=60)
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n", name
    svg = httpx.get(
        f"{api_url}{report['charts']['verdicts'].replace('.png', '.svg')}", headers=a.headers, timeout=60
    )
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    assert _get(api_url, a, "/v1/analytics/charts/passwords.png").status_code == 422


def test_custom_reports(api_url: str, orgs: tuple[Org, Org]) -> None:
    a, b = orgs
    definition = {
        "name": "按查验人和结果",
        "dimensions": ["requester", "verdict"],
        "metrics": ["checks", "amount", "max_risk_score"],
        "filters": {"verdicts": ["consistent", "voided"]},
        "date_from": PERIOD["date_from"],
        "date_to": PERIOD["date_to"],
        "sort_by": "checks",
        "format": "xlsx",
    }
    made = httpx.post(f"{api_url}/v1/reports", json=definition, headers=a.headers, timeout=10)
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    listed = _get(api_url, a, "/v1/reports").json()
    assert rid in [r["id"] for r in listed["data"]] and listed["count"] >= 1
    run = httpx.post(
        f"{api_url}/v1/reports/{rid}/run", params={"format": "json"}, headers=a.headers, timeout=30
    )
    assert run.status_code == 200, run.text
    table = run.json()
    assert table["columns"] == ["requester", "verdict", "verdict_name", "checks", "amount", "max_risk_score"]
    assert sum(r[3] for r in table["rows"]) == 14 + 6  # newest results: one 一致 check is voided now
    as_csv = httpx.post(
        f"{api_url}/v1/reports/{rid}/run", params={"format": "csv"}, headers=a.headers, timeout=30
    )
    assert next(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))[0] == "requester"
    as_xlsx = httpx.post(f"{api_url}/v1/reports/{rid}/run", headers=a.headers, timeout=30)  # its own format
    sheet = load_workbook(io.BytesIO(as_xlsx.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][0] == "requester" and len(rows) == len(table["rows"]) + 1
    # another organisation sees nothing of it
    for method, path in (
        ("GET", f"/v1/reports/{rid}"),
        ("POST", f"/v1/reports/{rid}/run"),
        ("DELETE", f"/v1/reports/{rid}"),
    ):
        assert httpx.request(method, f"{api_url}{path}", headers=b.headers, timeout=10).status_code == 404
    assert rid not in [r["id"] for r in _get(api_url, b, "/v1/reports").json()["data"]]
    # identifiers are whitelisted; values are bound
    bad = dict(definition, dimensions=["region; DROP TABLE check_results"])
    assert httpx.post(f"{api_url}/v1/reports", json=bad, headers=a.headers, timeout=10).status_code == 422
    bad = dict(definition, metrics=["count() FROM system.users --"])
    assert httpx.post(f"{api_url}/v1/reports", json=bad, headers=a.headers, timeout=10).status_code == 422
    hostile = dict(
        definition, filters={"seller": "'; DROP TABLE check_results; --", "requester": "x' OR '1'='1"}
    )
    made = httpx.post(f"{api_url}/v1/reports", json=hostile, headers=a.headers, timeout=10)
    assert made.status_code == 201
    run = httpx.post(
        f"{api_url}/v1/reports/{made.json()['id']}/run", params={"format": "json"}, headers=a.headers
    )
    assert run.status_code == 200 and run.json()["rows"] == []
    assert len(_walk(api_url, a, **PERIOD)) == 30  # the table is intact
    assert httpx.delete(f"{api_url}/v1/reports/{rid}", headers=a.headers, timeout=10).status_code == 204
    assert _get(api_url, a, f"/v1/reports/{rid}").status_code == 404


async def test_a_check_through_the_pipeline_reaches_history_and_trends(
    api_url: str, publisher, org: Org, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    inv = issued(number="70000001")
    await publish_registered(publisher, settings, inv)
    body = {
        "invoice_code": inv.invoice_code,
        "invoice_number": inv.invoice_number,
        "issue_date": inv.issue_date.isoformat(),
        "check_code": inv.check_code[-6:],
    }
    async with httpx.AsyncClient(base_url=api_url, headers=org.headers, timeout=15) as client:
        answer = await client.post("/v1/checks", params={"wait": 5}, json=body)
        assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            page = (await client.get("/v1/history", params={"invoice_number": "70000001"})).json()
            if page["data"]:
                break
            await asyncio.sleep(0.3)
        assert [i["verdict"] for i in page["data"]] == ["consistent"]
        # History reads check_results; a trend reads the hour's fingerprint in checks_hourly, which its
        # materialized view writes after the table (18.16 commits the source part first), so for a
        # moment after the history shows the check the trend may not yet: poll it too, as bounded.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            trend = (
                await client.get(
                    "/v1/analytics/trends",
                    params={"date_from": (date.today() - timedelta(days=1)).isoformat()},
                )
            ).json()
            if trend["series"] and trend["series"][0]["current"]["consistent"] >= 1:
                break
            await asyncio.sleep(0.3)
        assert trend["series"][0]["current"]["consistent"] >= 1
