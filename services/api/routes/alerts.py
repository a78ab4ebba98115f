"""`/v1/alerts`: the alert inbox (listing, export, precision of decisions), live risk alerts for
analysts (server-sent events). The cases are in `routes/cases.py`, the rules in `routes/risk_rules.py`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from fapiao.accounts import orgs
from fapiao.cases.export import ALERT_COLUMNS, alert_values
from fapiao.cases.inbox import MAX_PAGE, Cursor, InboxFilters
from fapiao.warehouse.alert_inbox import precision_by_reason
from services.api import alert_inbox
from services.api.alerts_hub import AlertFilter
from services.api.case_models import AlertsPageOut, AssigneeOut, AssigneesOut, PrecisionOut, PrecisionsOut
from services.api.deps import StateDep
from services.api.exports import RESPONSES, table_export
from services.api.principal import AlertsPrincipal, AnalystPrincipal, accounts_of

router = APIRouter(tags=["alerts"])
KEEPALIVE_SECONDS = 15.0
EXPORT_MAX_ROWS = 100_000
InboxFiltersDep = Annotated[InboxFilters, Depends(alert_inbox.inbox_filters)]


@router.get(
    "/v1/alerts", response_model=AlertsPageOut, summary="Your organisation's alerts, newest first (inbox)"
)
async def list_alerts(
    request: Request,
    state: StateDep,
    principal: AlertsPrincipal,
    filters: InboxFiltersDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=400, description="next_cursor of the previous page")
    ] = None,
) -> AlertsPageOut:
    after = alert_inbox.decode_cursor(cursor, filters)
    items, following = await alert_inbox.page(request, state, principal, filters, after, limit)
    next_cursor = following.encode(filters.fingerprint()) if following else None
    return AlertsPageOut(data=items, count=len(items), next_cursor=next_cursor)


@router.get(
    "/v1/alerts/export",
    summary="The same filters as a CSV or XLSX file (streamed; up to 100,000 alerts)",
    response_class=StreamingResponse,
    responses=RESPONSES,
)
async def export_alerts(
    request: Request,
    state: StateDep,
    principal: AlertsPrincipal,
    filters: InboxFiltersDep,
    format: Literal["csv", "xlsx"] = "csv",
) -> StreamingResponse:
    async def pages() -> AsyncIterator[list[list[object]]]:
        after: Cursor | None = None
        sent = 0
        while sent < EXPORT_MAX_ROWS:
            items, after = await alert_inbox.page(request, state, principal, filters, after, MAX_PAGE)
            rows = [alert_values(i.model_dump()) for i in items[: EXPORT_MAX_ROWS - sent]]
            sent += len(rows)
            yield rows
            if after is None:
                return

    return table_export("alerts", "风险预警", ALERT_COLUMNS, pages(), format)


@router.get(
    "/v1/alerts/precision",
    response_model=PrecisionsOut,
    summary="Precision of the alerts by reason and month, from the analysts' decisions",
)
async def alert_precision(state: StateDep, principal: AlertsPrincipal) -> PrecisionsOut:
    rows = await state.query(precision_by_reason, principal.org_id)
    return PrecisionsOut(data=[PrecisionOut.of(r) for r in rows], count=len(rows))


@router.get(
    "/v1/alerts/assignees",
    response_model=AssigneesOut,
    summary="Who cases can be assigned to (analysts, admins)",
)
async def assignees(principal: AnalystPrincipal, request: Request) -> AssigneesOut:
    members = await run_in_threadpool(orgs.members, accounts_of(request).ctx, principal.org_id)
    data = [
        AssigneeOut(user_id=m.user_id, display_name=m.display_name, email=m.email, role=m.role)
        for m in members
        if m.role in ("analyst", "admin")
    ]
    return AssigneesOut(data=data, count=len(data))


@router.get(
    "/v1/alerts/stream",
    summary="Live risk alerts of your organisation (text/event-stream)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "one `alert` event per alert"}},
)
async def stream_alerts(
    request: Request,
    state: StateDep,
    principal: AlertsPrincipal,
    min_severity: Annotated[Literal["low", "medium", "high", "critical"], Query()] = "low",
    reason: Annotated[list[str] | None, Query(description="only alerts with one of these reasons")] = None,
    seller: Annotated[str | None, Query(max_length=20, description="only this seller's tax id")] = None,
) -> StreamingResponse:
    wanted = AlertFilter(principal.org_id, min_severity, frozenset(reason or ()), seller)
    queue = state.alerts.subscribe(wanted)

    async def events() -> AsyncIterator[str]:
        try:
            yield ": connected\n\n"
            while not await request.is_disconnected():
                try:
                    alert = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"id: {alert.alert_id}\nevent: alert\ndata: {alert.model_dump_json()}\n\n"
        finally:
            state.alerts.unsubscribe(queue)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
