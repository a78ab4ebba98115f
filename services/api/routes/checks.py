"""`/v1/checks`: submit a check, read its verdict."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse

from fapiao import topics
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.request_rules import request_problems
from fapiao.warehouse.results import latest_result
from schemas.events import CheckRecheck, CheckRequested
from services.api.deps import StateDep
from services.api.models import CheckAccepted, CheckCreate, CheckView
from services.api.principal import ChangePrincipal, ReadPrincipal, SubmitPrincipal

router = APIRouter(prefix="/v1/checks", tags=["checks"])
_IDEMPOTENCY_NS = uuid.UUID("6f1c1f5e-3b0a-4a53-9a51-5bd1c2a7e7a1")


def check_id_for(requester: str, idempotency_key: str | None) -> UUID:
    """A retried submission with the same idempotency key is the same check (counted once)."""
    if idempotency_key:
        return uuid.uuid5(_IDEMPOTENCY_NS, f"{requester}\x00{idempotency_key}")
    return uuid.uuid4()


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CheckAccepted,
    responses={
        200: {"model": CheckView, "description": "the verdict, when `wait` was given and it came in time"}
    },
    summary="Submit a check (发票查验)",
)
async def submit_check(
    body: CheckCreate,
    state: StateDep,
    principal: SubmitPrincipal,
    response: Response,
    wait: Annotated[
        float, Query(ge=0, le=30, description="seconds to wait for the verdict (0: answer 202 at once)")
    ] = 0,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> CheckAccepted | JSONResponse:
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(state.settings.timezone)).date()
    problems = request_problems(
        body.invoice_code, body.invoice_number, body.issue_date, body.amount, body.check_code, today
    )
    if problems:
        raise HTTPException(
            status_code=422,
            detail=[
                {
                    "loc": ["body", p.field],
                    "type": p.code,
                    "msg": p.message_en,
                    "msg_zh": p.message_zh,
                }
                for p in problems
            ],
        )
    request_id = idempotency_key or body.request_id
    check = CheckRequested(
        check_id=check_id_for(f"{principal.org_id}/{body.requester}", request_id),
        request_id=request_id,
        requested_at=now,
        org_id=principal.org_id,
        requester=body.requester,
        channel="api",
        invoice_code=body.invoice_code,
        invoice_number=body.invoice_number,
        issue_date=body.issue_date,
        amount=body.amount,
        check_code=body.check_code,
    )
    await state.publisher.publish(
        topics.CHECKS_REQUESTED, invoice_key(check.invoice_code, check.invoice_number), check
    )
    state.cache.mark_submitted(check.check_id, check.org_id)
    location = f"/v1/checks/{check.check_id}"
    response.headers["Location"] = location
    if wait > 0:
        result = await state.cache.wait_final(check.check_id, min(wait, state.settings.api_max_wait_seconds))
        if result is not None:
            return JSONResponse(
                CheckView.from_result(result).model_dump(mode="json"),
                status_code=200,
                headers={"Location": location},
            )
    return CheckAccepted(check_id=check.check_id, location=location)


@router.get("/{check_id}", response_model=CheckView, summary="The verdict of a check")
async def get_check(check_id: UUID, state: StateDep, principal: ReadPrincipal) -> CheckView:
    cached = state.cache.get(check_id)
    if cached is not None and cached.org_id == principal.org_id:
        return CheckView.from_result(cached)
    row = await state.query(latest_result, principal.org_id, check_id)
    if row is not None:
        return CheckView.from_row(row)
    if state.cache.was_submitted(check_id, principal.org_id):
        return CheckView(check_id=check_id, status="pending")
    raise HTTPException(status_code=404, detail={"msg": "no such check", "msg_zh": "查无此查验请求"})


@router.post(
    "/{check_id}/refresh",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CheckAccepted,
    responses={200: {"model": CheckView, "description": "the new verdict, when `wait` was given"}},
    summary="Re-verify a check now (手动刷新)",
)
async def refresh_check(
    check_id: UUID,
    state: StateDep,
    principal: ChangePrincipal,
    wait: Annotated[float, Query(ge=0, le=30, description="seconds to wait for the new verdict")] = 0,
) -> CheckAccepted | JSONResponse:
    cached = state.cache.get(check_id)
    if cached is not None and cached.org_id == principal.org_id:
        key, version = cached.invoice_key, cached.result_version
    else:
        row = await state.query(latest_result, principal.org_id, check_id)
        if row is None:
            raise HTTPException(status_code=404, detail={"msg": "no such check", "msg_zh": "查无此查验请求"})
        key, version = row["invoice_key"], int(row["result_version"])
    ask = CheckRecheck(check_id=check_id, invoice_key=key, reason="refresh", requested_at=datetime.now(UTC))
    await state.publisher.publish(topics.CHECKS_RECHECKS, key, ask)
    location = f"/v1/checks/{check_id}"
    if wait > 0:
        result = await state.cache.wait_newer(
            check_id, version, min(wait, state.settings.api_max_wait_seconds)
        )
        if result is not None:
            return JSONResponse(
                CheckView.from_result(result).model_dump(mode="json"),
                status_code=200,
                headers={"Location": location},
            )
    return CheckAccepted(check_id=check_id, location=location)
