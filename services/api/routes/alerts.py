"""`/v1/alerts`: live risk alerts for analysts (server-sent events) and the rules that raise them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from fapiao import topics
from schemas.events import RiskRules
from services.api.alerts_hub import AlertFilter
from services.api.deps import StateDep
from services.api.principal import AlertsPrincipal, AnalystPrincipal

router = APIRouter(tags=["alerts"])
KEEPALIVE_SECONDS = 15.0


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


@router.put(
    "/v1/risk/rules",
    response_model=RiskRules,
    summary="Publish new risk rule parameters (analysts); every worker applies them within seconds",
)
async def put_rules(rules: RiskRules, state: StateDep, principal: AnalystPrincipal) -> RiskRules:
    stamped = rules.model_copy(update={"updated_by": principal.subject, "updated_at": datetime.now(UTC)})
    await state.publisher.publish(topics.RISK_RULES, "current", stamped)
    return stamped
