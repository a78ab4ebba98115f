"""HTTP models of history, trends, the period report and custom reports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from fapiao.analytics.catalog import VERDICT_EN, VERDICT_ZH, Dimension, label
from fapiao.analytics.custom_reports import ReportSpec
from fapiao.analytics.narrative import RiskySeller
from fapiao.analytics.series import Metrics, Series, Trend
from fapiao.warehouse.report_store import StoredReport


class HistoryItem(BaseModel):
    """A check at its newest result."""

    check_id: str
    requested_at: datetime
    decided_at: datetime
    requester: str
    channel: str
    batch_id: str | None
    batch_row: int | None
    verdict: str
    verdict_zh: str
    verdict_en: str
    fplx: str
    type_name: str
    region: str
    region_name: str
    invoice_code: str
    invoice_number: str
    issue_date: date
    invoice_status: str
    seller_tax_id: str
    seller_name: str
    buyer_tax_id: str
    buyer_name: str
    amount: Decimal
    tax: Decimal
    total: Decimal = Field(description="价税合计")
    check_count: int = Field(description="第 N 次查验")
    follow_up: bool
    result_version: int
    mismatched_fields: list[str]
    risk_score: int | None = Field(description="the risk stage's 0-100 score; null when not scored")
    risk_severity: str | None
    risk_reasons: list[str]

    @classmethod
    def of(cls, item: dict[str, Any]) -> HistoryItem:
        scored = bool(item["risk_severity"])
        return cls(
            **{
                k: v
                for k, v in item.items()
                if k not in ("risk_score", "risk_severity", "batch_id", "batch_row")
            },
            batch_id=item["batch_id"] or None,
            batch_row=item["batch_row"] or None,
            verdict_zh=VERDICT_ZH.get(item["verdict"], item["verdict"]),
            verdict_en=VERDICT_EN.get(item["verdict"], item["verdict"]),
            type_name=label(Dimension.TYPE, item["fplx"])[0],
            region_name=label(Dimension.REGION, item["region"])[0],
            risk_score=item["risk_score"] if scored else None,
            risk_severity=item["risk_severity"] or None,
        )


class HistoryPageOut(BaseModel):
    data: list[HistoryItem]
    count: int
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class MetricsOut(BaseModel):
    checks: int = Field(description="distinct checks requested")
    consistent: int = Field(description="checks answered 一致")
    inconsistent: int = Field(description="checks answered 不一致")
    alerted: int = Field(description="checks with a risk alert")
    amount: Decimal = Field(description="价税合计 of the checks answered 一致")
    consistent_rate: float | None
    inconsistent_rate: float | None
    alert_rate: float | None

    @classmethod
    def of(cls, metrics: Metrics) -> MetricsOut:
        return cls(**metrics.as_dict())


class PointOut(MetricsOut):
    bucket: str


class ChangeOut(BaseModel):
    checks_pct: float | None
    amount_pct: float | None
    alerted_pct: float | None
    consistent_rate_pp: float | None
    inconsistent_rate_pp: float | None
    alert_rate_pp: float | None


class SeriesOut(BaseModel):
    key: str
    label_zh: str
    label_en: str
    points: list[PointOut]
    current: MetricsOut
    previous: MetricsOut
    change: ChangeOut = Field(description="counts in % of the previous period, rates in percentage points")

    @classmethod
    def of(cls, series: Series, with_points: bool = True) -> SeriesOut:
        points = [PointOut(bucket=b, **m.as_dict()) for b, m in series.points.items()] if with_points else []
        return cls(
            key=series.key,
            label_zh=series.label_zh,
            label_en=series.label_en,
            points=points,
            current=MetricsOut.of(series.current),
            previous=MetricsOut.of(series.previous),
            change=ChangeOut(**series.change),
        )


class TrendOut(BaseModel):
    bucket: str
    dimension: str | None
    date_from: date
    date_to: date
    previous_from: date
    previous_to: date
    buckets: list[str]
    series: list[SeriesOut]

    @classmethod
    def of(cls, trend: Trend) -> TrendOut:
        q = trend.query
        return cls(
            bucket=q.bucket.value,
            dimension=q.dimension.value if q.dimension else None,
            date_from=q.date_from,
            date_to=q.date_to,
            previous_from=q.previous[0],
            previous_to=q.previous[1],
            buckets=trend.buckets,
            series=[SeriesOut.of(s) for s in trend.series],
        )


class RiskySellerOut(BaseModel):
    tax_id: str
    name: str
    checks: int
    risky: int = Field(description="checks answered 作废, 红冲 or 异常 (不一致 answers show no seller)")
    risky_rate: float
    alerted: int

    @classmethod
    def of(cls, seller: RiskySeller) -> RiskySellerOut:
        return cls(**vars(seller), risky_rate=round(seller.risky_rate, 4))


class PeriodReportOut(BaseModel):
    date_from: date
    date_to: date
    bucket: str
    summary_zh: list[str]
    summary_en: list[str]
    total: SeriesOut
    regions: list[SeriesOut]
    types: list[SeriesOut]
    verdicts: list[SeriesOut]
    top_risky_sellers: list[RiskySellerOut]
    unusual_regions: list[SeriesOut]
    charts: dict[str, str] = Field(description="chart name -> PNG URL (use .svg for SVG)")


class ReportDefinitionOut(BaseModel):
    id: str
    name: str
    definition: ReportSpec
    created_by: str | None = Field(description="the user or key that saved it; null for API-key callers")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, stored: StoredReport, show_author: bool = True) -> ReportDefinitionOut:
        return cls(
            id=stored.report_id,
            name=stored.spec.name,
            definition=stored.spec,
            created_by=stored.created_by if show_author else None,
            created_at=stored.created_at,
            updated_at=stored.updated_at,
        )


class ReportListOut(BaseModel):
    data: list[ReportDefinitionOut]
    count: int


class ReportResultOut(BaseModel):
    report_id: str
    name: str
    date_from: date
    date_to: date
    generated_at: datetime
    columns: list[str]
    rows: list[list[Any]]
