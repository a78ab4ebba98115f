"""`/v1/analytics`: 智能数据分析 — trends, the period report in plain sentences, and its charts."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from fapiao.analytics.catalog import Bucket, Dimension
from fapiao.analytics.charts import ChartName, chart_spec, render
from fapiao.analytics.filters import local_today
from fapiao.analytics.narrative import summarise, unusual_regions
from fapiao.analytics.reveal import open_trend
from fapiao.analytics.trends import MAX_TOP, TrendQuery
from fapiao.warehouse.period_report import auto_bucket, fetch_period
from fapiao.warehouse.trends import fetch_trend
from services.api.analytics_models import PeriodReportOut, RiskySellerOut, SeriesOut, TrendOut
from services.api.deps import StateDep
from services.api.principal import ReadPrincipal
from services.api.routes.history import check_dates, invalid

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])
DateFrom = Annotated[date | None, Query(description="first day (Beijing time); default: 30 days ago")]
DateTo = Annotated[date | None, Query(description="last day (Beijing time), included; default: today")]


def _period(date_from: date | None, date_to: date | None, default_days: int = 30) -> tuple[date, date]:
    check_dates(date_from=date_from, date_to=date_to)
    last = date_to or local_today(datetime.now(UTC))
    first = date_from or last - timedelta(days=default_days - 1)
    if first > last:
        raise invalid("date_from is after date_to")
    return first, last


def _report_period(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    """The period report's and its charts' period: at most ten years (their trend is by month)."""
    first, last = _period(date_from, date_to)
    if (last - first).days > 3660:
        raise invalid("a report covers at most ten years")
    return first, last


@router.get(
    "/trends", response_model=TrendOut, summary="Checks, 一致/不一致 rates, alert rate and amount over time"
)
async def trends(
    state: StateDep,
    principal: ReadPrincipal,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    bucket: Bucket = Bucket.DAY,
    dimension: Annotated[Dimension | None, Query(description="one series per value; none: the total")] = None,
    top: Annotated[int, Query(ge=1, le=MAX_TOP, description="series kept for seller and requester")] = 10,
) -> TrendOut:
    first, last = _period(date_from, date_to)
    try:
        query = TrendQuery(first, last, bucket, dimension, top)
    except ValueError as exc:
        raise invalid(str(exc)) from exc
    return TrendOut.of(open_trend(state.sealer, await state.query(fetch_trend, principal.org_id, query)))


@router.get(
    "/report", response_model=PeriodReportOut, summary="The period in sentences (中文/English) with charts"
)
async def report(
    state: StateDep,
    principal: ReadPrincipal,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> PeriodReportOut:
    first, last = _report_period(date_from, date_to)
    data = await state.query(fetch_period, principal.org_id, first, last, None, state.sealer)
    facts = data.facts
    sentences = summarise(facts)
    link = f"?date_from={first.isoformat()}&date_to={last.isoformat()}"
    return PeriodReportOut(
        date_from=first,
        date_to=last,
        bucket=auto_bucket(first, last).value,
        summary_zh=sentences.zh,
        summary_en=sentences.en,
        total=SeriesOut.of(facts.total),
        regions=[SeriesOut.of(s, with_points=False) for s in facts.regions],
        types=[SeriesOut.of(s, with_points=False) for s in facts.types],
        verdicts=[SeriesOut.of(s, with_points=False) for s in data.trends["verdict"].series],
        top_risky_sellers=[RiskySellerOut.of(s) for s in facts.risky_sellers],
        unusual_regions=[
            SeriesOut.of(s, with_points=False) for s in unusual_regions(facts.regions, facts.total.current)
        ],
        charts={name.value: f"/v1/analytics/charts/{name.value}.png{link}" for name in ChartName},
    )


@router.get(
    "/charts/{name}.{fmt}",
    summary="A chart of the period report (PNG or SVG)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}},
)
async def chart(
    name: ChartName,
    fmt: Literal["png", "svg"],
    state: StateDep,
    principal: ReadPrincipal,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> Response:
    first, last = _report_period(date_from, date_to)  # 500 once for date_from=2000-01-01 (issue 16)
    data = await state.query(fetch_period, principal.org_id, first, last, None, state.sealer)
    image = await asyncio.to_thread(render, chart_spec(name, data.trends, data.facts), fmt)
    media = "image/png" if fmt == "png" else "image/svg+xml"
    return Response(image, media_type=media, headers={"Cache-Control": "private, max-age=60"})
