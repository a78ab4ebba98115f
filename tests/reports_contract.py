"""Custom reports, their store, and retention, on every ClickHouse engine (analytics_contract data)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from fapiao.analytics.custom_reports import ReportFilters, ReportSpec, compile_report
from fapiao.warehouse import migrations, report_store
from fapiao.warehouse.engine import Engine
from fapiao.warehouse.retention import apply_retention
from tests.analytics_contract import CURRENT, TODAY, Dataset
from tests.analytics_data import OTHER_SELLER, SEALER, at, insert_results, ref, result, scalar

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
HOSTILE = (
    "x' OR 1=1 --",
    "'; DROP TABLE check_results; --",
    "\\' UNION SELECT name FROM system.tables --",
    "%(org_id)s",
    "`check_results`",
    "北京'); SELECT 1; --",
)


def _spec(**fields: object) -> ReportSpec:
    return ReportSpec.model_validate({"name": "r", "date_from": CURRENT[0], "date_to": CURRENT[1], **fields})


def check_custom_reports(engine: Engine, data: Dataset) -> None:
    by_region = report_store.run(
        engine,
        "acme",
        _spec(dimensions=["region"], metrics=["checks", "consistent", "verified_amount"]),
        TODAY,
    )
    assert by_region.columns == ["region", "region_name", "checks", "consistent", "verified_amount"]
    assert by_region.rows == [
        ["1100", "北京", 5, 3, Decimal("349.00")],  # c3 is voided now: reports use newest results
        ["3200", "江苏", 1, 1, Decimal("50.00")],
    ]
    total = report_store.run(engine, "acme", _spec(metrics=["checks", "max_risk_score", "high_risk"]), TODAY)
    assert total.rows == [[6, 70, 1]]
    by_day = report_store.run(
        engine,
        "acme",
        _spec(dimensions=["day", "verdict"], metrics=["checks"], sort_by="day", descending=False),
        TODAY,
    )
    assert by_day.rows[0][:3] == ["2026-11-25", "consistent", "一致"] and sum(r[3] for r in by_day.rows) == 6
    voided = _spec(
        dimensions=["seller"], metrics=["checks", "consistent_rate"], filters={"verdicts": ["voided"]}
    )
    sellers = report_store.run(engine, "acme", voided, TODAY, SEALER)
    assert sellers.rows == [["91310115MA1K4ABC2X", "上海浦东样例贸易有限公司", 1, 0.0]]
    assert report_store.run(engine, "acme", voided, TODAY).rows[0][0] == ref(OTHER_SELLER)  # as stored
    by_name = _spec(dimensions=["requester"], metrics=["checks"], filters={"seller": "浦东"})
    assert report_store.run(engine, "acme", by_name, TODAY, SEALER).rows == [["alice", 1]]
    by_requester = _spec(dimensions=["buyer"], metrics=["checks"], filters={"requester": "bob"})
    assert report_store.run(engine, "acme", by_requester, TODAY, SEALER).rows == [
        ["", "", 1]
    ]  # 不一致: no face
    rival = report_store.run(engine, "rival", _spec(metrics=["checks"]), TODAY)
    assert rival.rows == [[1]]


def check_reports_cannot_inject_sql(engine: Engine, data: Dataset) -> None:
    before = int(scalar(engine, "SELECT count() FROM check_results"))
    plain = _spec(
        dimensions=["seller"], metrics=["checks"], filters=ReportFilters(seller="a", buyer="b", requester="c")
    )
    for text in HOSTILE:
        filters = ReportFilters(seller=text, buyer=text, requester=text)
        spec = _spec(name=text, dimensions=["seller"], metrics=["checks"], filters=filters)
        compiled = compile_report("acme", spec, TODAY)
        assert compiled.sql == compile_report(text, plain, TODAY).sql  # values never shape the SQL text
        assert text in compiled.params.values()
        assert report_store.run(engine, "acme", spec, TODAY).rows == []
        other = report_store.run(engine, text, _spec(metrics=["checks"]), TODAY)  # hostile org id: bound too
        assert other.rows == [[0]]
    assert int(scalar(engine, "SELECT count() FROM check_results")) == before


def check_report_store(engine: Engine, data: Dataset) -> None:
    spec = _spec(dimensions=["region"], metrics=["checks"], format="xlsx")
    saved = report_store.save(engine, "acme", spec, "alice", NOW)
    assert report_store.get(engine, "acme", saved.report_id) == saved
    assert report_store.get(engine, "rival", saved.report_id) is None  # another organisation's
    assert [r.report_id for r in report_store.list_reports(engine, "rival")] == []
    later = datetime(2026, 11, 28, 10, tzinfo=UTC)
    renamed = report_store.save(
        engine, "acme", spec.model_copy(update={"name": "按地区"}), "bob", later, report_id=saved.report_id
    )
    listed = report_store.list_reports(engine, "acme")
    assert [(r.report_id, r.spec.name, r.created_by) for r in listed] == [
        (saved.report_id, "按地区", "alice")
    ]
    assert renamed.created_at == saved.created_at and renamed.updated_at > saved.updated_at
    assert report_store.delete(engine, "rival", saved.report_id, NOW) is False
    assert report_store.delete(engine, "acme", saved.report_id, datetime(2026, 11, 28, 11, tzinfo=UTC))
    assert report_store.get(engine, "acme", saved.report_id) is None
    assert report_store.get(engine, "acme", "not-a-uuid") is None


def check_retention_drops_old_months(engine: Engine) -> None:
    """On a fresh database: months before the kept ones leave facts and rollups alike."""
    migrations.migrate(engine)
    insert_results(engine, [result(uuid.uuid4(), "consistent", at(3, month=m)) for m in (8, 9, 10, 11)])
    planned = apply_retention(engine, date(2026, 11, 28), 2, dry_run=True)
    assert {p.month for p in planned} == {"202608", "202609"}
    assert {p.table for p in planned} >= {
        "check_results",
        "checks_hourly",
        "sellers_daily",
        "requesters_daily",
    }
    assert int(scalar(engine, "SELECT count() FROM check_results")) == 4  # a dry run drops nothing
    assert apply_retention(engine, date(2026, 11, 28), 2, dry_run=False) == planned
    assert int(scalar(engine, "SELECT count() FROM check_results")) == 2
    hourly = scalar(engine, "SELECT uniqExactMerge(checks) FROM checks_hourly")
    assert int(hourly) == 2
    assert apply_retention(engine, date(2026, 11, 28), 2, dry_run=False) == []


CHECKS = (check_custom_reports, check_reports_cannot_inject_sql, check_report_store)
