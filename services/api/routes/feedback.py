"""`/v1/feedback`: 意见反馈 from the web app — anyone signed in sends, the organisation's admins read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from fapiao.accounts import feedback
from fapiao.accounts.models import MAX_ROW_ID
from services.api.form_models import FeedbackIn, FeedbackOut, FeedbacksOut
from services.api.principal import AdminPrincipal, PrincipalDep, accounts_of

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])


def _out(info: feedback.FeedbackInfo) -> FeedbackOut:
    return FeedbackOut(**info.__dict__)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FeedbackOut, summary="Send feedback")
async def send_feedback(body: FeedbackIn, principal: PrincipalDep, request: Request) -> FeedbackOut:
    info = await run_in_threadpool(
        feedback.add,
        accounts_of(request).ctx,
        principal.org_id,
        principal.subject,
        body.category,
        body.message,
        body.contact,
        body.page,
    )
    return _out(info)


@router.get("", response_model=FeedbacksOut, summary="Your organisation's feedback, newest first (admins)")
async def list_feedback(
    admin: AdminPrincipal,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_ROW_ID, description="page: older than this id")
    ] = None,
) -> FeedbacksOut:
    infos = await run_in_threadpool(
        feedback.listing, accounts_of(request).ctx, admin.org_id, limit, before_id
    )
    return FeedbacksOut(data=[_out(i) for i in infos], count=len(infos))
