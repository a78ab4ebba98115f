"""Custom report definitions: validation, compilation, and that no definition shapes the SQL text."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fapiao.analytics.custom_reports import (
    ReportDimension,
    ReportFilters,
    ReportMetric,
    ReportSpec,
    compile_report,
    shape_rows,
)

TODAY = date(2026, 11, 28)


def spec(**fields: Any) -> ReportSpec:
    return ReportSpec.model_validate({"name": "r", "metrics": ["checks"], **fields})


def test_a_report_compiles_to_one_scoped_grouped_query() -> None:
    compiled = compile_report(
        "org-1",
        spec(
            dimensions=["month", "region"], metrics=["checks", "verified_amount"], sort_by="verified_amount"
        ),
        TODAY,
    )
    assert "FROM check_results FINAL PREWHERE org_id = %(org_id)s" in compiled.sql
    assert " GROUP BY toString(toStartOfMonth(requested_at, 'Asia/Shanghai')), if(" in compiled.sql
    assert "ORDER BY toFloat64(sumIf(total, verdict = 'consistent')) DESC" in compiled.sql
    assert compiled.columns == ("month", "region", "checks", "verified_amount")
    assert compiled.params["d_start"] == "2026-10-29"  # the last 30 days by default


def test_period_defaults_and_overrides() -> None:
    assert spec(period_days=7).period(TODAY) == (date(2026, 11, 22), TODAY)
    assert spec(date_from="2026-01-01", date_to="2026-01-31").period(TODAY) == (
        date(2026, 1, 1),
        date(2026, 1, 31),
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"dimensions": ["region; DROP TABLE check_results"]},
        {"metrics": ["count() FROM system.users --"]},
        {"metrics": []},
        {"dimensions": ["day", "week"]},
        {"dimensions": ["region", "region"]},
        {"sort_by": "seller_name DESC; --"},
        {"filters": {"verdicts": ["consistent' OR 1=1 --"]}},
        {"filters": {"invoice_number": "1 OR 1=1"}},
        {"filters": {"regions": ["11' --"]}},
        {"filters": {"raw_sql": "1=1"}},
        {"limit": 10**9},
        {"format": "pdf"},
        {"date_from": "2026-02-01", "date_to": "2026-01-01"},
    ],
)
def test_anything_outside_the_whitelists_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        spec(**bad)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(min_size=1, max_size=100),
    dims=st.lists(
        st.sampled_from([d for d in ReportDimension if d.value not in ("hour", "week", "month")]),
        unique=True,
        max_size=3,
    ),
    metrics=st.lists(st.sampled_from(list(ReportMetric)), unique=True, min_size=1, max_size=5),
)
def test_values_never_reach_the_sql_text(
    text: str, dims: list[ReportDimension], metrics: list[ReportMetric]
) -> None:
    """Whatever text a caller puts in the filters (or the org id), the SQL is that of a plain value."""
    hostile = spec(
        dimensions=dims, metrics=metrics, filters=ReportFilters(seller=text, buyer=text, requester=text)
    )
    plain = spec(
        dimensions=dims, metrics=metrics, filters=ReportFilters(seller="s", buyer="b", requester="r")
    )
    compiled = compile_report(text, hostile, TODAY)
    assert compiled.sql == compile_report("org", plain, TODAY).sql
    assert compiled.params["seller"] == text and compiled.params["org_id"] == text


def test_rows_are_typed_and_named() -> None:
    report = spec(dimensions=["region", "verdict"], metrics=["checks", "amount", "consistent_rate"])
    compiled = compile_report("o", report, TODAY)
    table = shape_rows(report, compiled, [("1100", "consistent", "12", "1130.5", float("nan"))])
    assert table.columns == [
        "region",
        "region_name",
        "verdict",
        "verdict_name",
        "checks",
        "amount",
        "consistent_rate",
    ]
    assert table.rows == [["1100", "北京", "consistent", "一致", 12, pytest.approx(1130.5), None]]
    assert str(table.rows[0][5]) == "1130.50"
