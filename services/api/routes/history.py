"""`/v1/history`: 历史查验记录 — the organisation's checks, filtered, sorted, paged; CSV/XLSX export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse

from fapiao.analytics.export import HISTORY_COLUMNS, history_values
from fapiao.analytics.filters import CheckFilters, date_problems, local_today, time_range
from fapiao.analytics.history import MAX_PAGE, Cursor, CursorError, HistoryQuery, Order, SortKey
from fapiao.analytics.reveal import RowOpener
from fapiao.warehouse.history import fetch_page
from fapiao.warehouse.party_names import sealed_filters
from schemas.events import Verdict
from services.api.analytics_models import HistoryItem, HistoryPageOut
from services.api.deps import StateDep
from services.api.exports import RESPONSES, table_export
from services.api.principal import ReadPrincipal
from services.api.state import ApiState

router = APIRouter(prefix="/v1/history", tags=["history"])
EXPORT_PAGE = 2000
EXPORT_MAX_ROWS = 1_000_000  # an XLSX sheet holds 1,048,576 rows


def invalid(message: str) -> HTTPException:
    return HTTPException(
        status_code=422, detail={"code": "invalid_query", "msg": message, "msg_zh": "查询条件无效"}
    )


def check_dates(**dates: date | None) -> None:
    """422 naming the first date outside what the warehouse holds (ClickHouse dates start at 1970)."""
    for field, message, message_zh in date_problems(**dates):
        raise HTTPException(
            status_code=422,
            detail={"code": "invalid_date", "field": field, "msg": message, "msg_zh": message_zh},
        )


def history_filters(
    date_from: Annotated[date | None, Query(description="first day (Beijing time), included")] = None,
    date_to: Annotated[date | None, Query(description="last day (Beijing time), included")] = None,
    verdict: Annotated[list[Verdict] | None, Query(description="newest verdict is one of these")] = None,
    types: Annotated[
        list[str] | None, Query(alias="type", description="发票类型 fplx, e.g. 01, 10, 32")
    ] = None,
    region: Annotated[list[str] | None, Query(description="4-digit region, e.g. 1100")] = None,
    seller: Annotated[str | None, Query(max_length=100, description="tax id, or part of the name")] = None,
    buyer: Annotated[str | None, Query(max_length=100, description="tax id, or part of the name")] = None,
    amount_min: Annotated[
        Decimal | None, Query(ge=0, max_digits=16, decimal_places=2, description="价税合计 ≥")
    ] = None,
    amount_max: Annotated[
        Decimal | None, Query(ge=0, max_digits=16, decimal_places=2, description="价税合计 ≤")
    ] = None,
    invoice_number: Annotated[str | None, Query(pattern=r"^[0-9]{8}$|^[0-9]{20}$")] = None,
    invoice_code: Annotated[str | None, Query(pattern=r"^[0-9]{10}$|^[0-9]{12}$")] = None,
    requester: Annotated[str | None, Query(max_length=64)] = None,
    batch_id: Annotated[str | None, Query(max_length=64)] = None,
    min_risk_score: Annotated[
        int | None, Query(ge=0, le=100, description="risk score of the newest result ≥")
    ] = None,
) -> CheckFilters:
    check_dates(date_from=date_from, date_to=date_to)
    try:
        return CheckFilters(
            date_from=date_from,
            date_to=date_to,
            verdicts=tuple(v.value for v in verdict or ()),
            types=tuple(types or ()),
            regions=tuple(region or ()),
            seller=seller,
            buyer=buyer,
            amount_min=amount_min,
            amount_max=amount_max,
            invoice_number=invoice_number,
            invoice_code=invoice_code,
            requester=requester,
            batch_id=batch_id,
            min_risk_score=min_risk_score,
        )
    except ValueError as exc:
        raise invalid(str(exc)) from exc


FiltersDep = Annotated[CheckFilters, Depends(history_filters)]


def _today() -> date:
    return local_today(datetime.now(UTC))


async def _sealed(state: ApiState, org_id: str, query: HistoryQuery, today: date) -> HistoryQuery:
    """The query on the sealed columns (seller/buyer/requester filters as pseudonyms); same fingerprint."""
    filters = query.filters
    if filters.seller is None and filters.buyer is None and filters.requester is None:
        return query
    span = time_range(filters, today)
    sealed = await state.query(sealed_filters, org_id, filters, span, state.sealer)
    return replace(query, filters=sealed)


@router.get("", response_model=HistoryPageOut, summary="Your organisation's checks (历史查验记录)")
async def list_history(
    state: StateDep,
    principal: ReadPrincipal,
    filters: FiltersDep,
    sort: SortKey = SortKey.REQUESTED_AT,
    order: Order = Order.DESC,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=600, description="next_cursor of the previous page")
    ] = None,
) -> HistoryPageOut:
    query = HistoryQuery(filters, sort, order, limit)
    try:
        after = Cursor.decode(cursor, query.fingerprint()) if cursor else None
    except CursorError as exc:
        raise invalid(str(exc)) from exc
    today = _today()
    sealed = await _sealed(state, principal.org_id, query, today)
    page = await state.query(fetch_page, principal.org_id, sealed, after, today)
    open_one = RowOpener(state.sealer)
    items = [HistoryItem.of(open_one(i)) for i in page.items]
    return HistoryPageOut(data=items, count=len(items), next_cursor=page.next_cursor)


@router.get(
    "/export",
    summary="The same query as a CSV or XLSX file (streamed; up to 1,000,000 rows)",
    response_class=StreamingResponse,
    responses=RESPONSES,
)
async def export_history(
    state: StateDep,
    principal: ReadPrincipal,
    filters: FiltersDep,
    sort: SortKey = SortKey.REQUESTED_AT,
    order: Order = Order.DESC,
    format: Literal["csv", "xlsx"] = "csv",
) -> StreamingResponse:
    query = HistoryQuery(filters, sort, order, EXPORT_PAGE)
    today = _today()

    async def pages() -> AsyncIterator[list[list[object]]]:
        cursor: Cursor | None = None
        sent = 0
        sealed = await _sealed(state, principal.org_id, query, today)
        open_one = RowOpener(state.sealer)  # the export's rows repeat few parties: each opened once
        while sent < EXPORT_MAX_ROWS:
            page = await state.query(fetch_page, principal.org_id, sealed, cursor, today)
            # the caller's own checks, opened: exports hold what the history page shows
            rows = [history_values(open_one(i)) for i in page.items[: EXPORT_MAX_ROWS - sent]]
            sent += len(rows)
            yield rows
            if page.next_cursor is None:
                return
            cursor = Cursor.decode(page.next_cursor, query.fingerprint())

    notes = [("filter", str(v)) for v in filters.canonical().items()] + [("sort", f"{sort} {order}")]
    return table_export("history", "查验记录", HISTORY_COLUMNS, pages(), format, notes)
