"""`/v1/reviews`: the review queue (人工复核) — documents whose fields disagree or were read too weakly,
and rejected batch rows — where an analyst sees the page beside what was read, corrects the fields
and sends the check, as themselves (`requester` is the reviewer's member reference, `channel` is
`review`; the item keeps the reviewer's user id, shown to the organisation's users). A corrected
batch row goes back into its batch: its counts and results file include it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from aiokafka.errors import KafkaError
from clickhouse_driver.errors import Error as ClickHouseError
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from fapiao import topics
from fapiao.batches.items import BatchItem, check_id_of
from fapiao.cases.inbox import Cursor, filters_fingerprint
from fapiao.domain.check_fields import CheckFields
from fapiao.domain.invoice_types import invoice_key
from fapiao.reviews import store
from fapiao.reviews.correction import CORRECTED_FIELDS, corrected_check
from fapiao.warehouse import batches as batch_store
from schemas.events import CheckRequested
from services.api.alert_inbox import invalid
from services.api.deps import StateDep
from services.api.people import requester_of
from services.api.principal import AnalystPrincipal, Principal, accounts_of, client_ip
from services.api.review_models import ReviewOut, ReviewPage, ReviewSubmit, ReviewSummary
from services.api.state import ApiState

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])
SEND_SECONDS = 15.0
_NS = uuid.UUID("0b8f3a52-63c4-4a0e-9d0c-2f1e7c9a4b61")


def review_check_id(org_id: str, review_id: str) -> UUID:
    """The check of a reviewed document outside a batch: stable per item, so a retried submission is
    the same check (a batch row keeps its batch's check id for that row)."""
    return uuid.uuid5(_NS, f"{org_id}/{review_id}")


@router.get("", response_model=ReviewPage, summary="The review queue (analysts), oldest first")
async def list_reviews(
    request: Request,
    principal: AnalystPrincipal,
    status: Annotated[
        Literal["open", "submitted", "all"], Query(description="open, submitted, or all")
    ] = "open",
    kind: Annotated[Literal["document", "batch_row"] | None, Query(description="documents or rows")] = None,
    batch_id: Annotated[UUID | None, Query(description="only this batch's items")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=400, description="next_cursor of the previous page")
    ] = None,
) -> ReviewPage:
    filters = store.ReviewFilters(
        status=None if status == "all" else status, kind=kind, batch_id=str(batch_id) if batch_id else None
    )
    fingerprint = filters_fingerprint(filters.chosen())
    after = None
    if cursor:
        try:
            after = Cursor.decode(cursor, fingerprint)
        except ValueError as exc:
            raise invalid("cursor", str(exc), "翻页游标无效") from exc
    items, more = await run_in_threadpool(
        store.page, accounts_of(request).ctx, principal.org_id, filters, after, limit
    )
    return ReviewPage(
        data=[ReviewSummary.of(i) for i in items],
        count=len(items),
        next_cursor=more.encode(fingerprint) if more else None,
    )


@router.get("/{review_id}", response_model=ReviewOut, summary="One item: what was read, its history")
async def get_review(review_id: UUID, request: Request, principal: AnalystPrincipal) -> ReviewOut:
    item = await run_in_threadpool(store.get, accounts_of(request).ctx, principal.org_id, str(review_id))
    return ReviewOut.of(item)


@router.get(
    "/{review_id}/page.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 404: {"description": "no such item, or no page"}},
    summary="The document's first page, rendered (PDFs)",
)
async def review_page(review_id: UUID, request: Request, principal: AnalystPrincipal) -> Response:
    png = await run_in_threadpool(
        store.page_image, accounts_of(request).ctx, principal.org_id, str(review_id)
    )
    if png is None:
        raise HTTPException(
            status_code=404,
            detail={
                "code": "no_page",
                "msg": "this item has no rendered page",
                "msg_zh": "该事项没有页面图像",
            },
        )
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.post(
    "/{review_id}/submit",
    response_model=ReviewOut,
    responses={
        409: {"description": "already submitted, or its batch is still being received"},
        422: {"description": "a corrected field is not valid (each named, in Chinese and English)"},
        503: {"description": "the check could not be sent: nothing changed, try again"},
    },
    summary="Send the corrected check (analysts); a batch row goes back into its batch",
)
async def submit_review(
    review_id: UUID, body: ReviewSubmit, request: Request, state: StateDep, principal: AnalystPrincipal
) -> ReviewOut:
    ctx = accounts_of(request).ctx
    item = await run_in_threadpool(store.get, ctx, principal.org_id, str(review_id))
    if item.status != "open":
        raise _conflict(
            "already_submitted", "this item was already reviewed and submitted", "该事项已复核提交"
        )
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(state.settings.timezone)).date()
    values = {name: getattr(body, name) for name in CORRECTED_FIELDS}
    outcome = corrected_check(values, today)
    if outcome.fields is None:
        raise HTTPException(
            status_code=422,
            detail=[
                {"loc": ["body", p.field], "type": p.code, "msg": p.message_en, "msg_zh": p.message_zh}
                for p in outcome.problems
            ],
        )
    fields = outcome.fields
    batch_id = UUID(item.batch_id) if item.batch_id else None
    if batch_id is not None:
        batch = await state.query(batch_store.get_batch, principal.org_id, batch_id)
        if batch is None or batch["state"] != "accepted":
            raise _conflict("batch_not_ready", "its batch is still being received", "所属批次尚未接收完毕")
    check_id = (
        check_id_of(batch_id, item.batch_row or 0) if batch_id else review_check_id(principal.org_id, item.id)
    )
    event = CheckRequested(
        check_id=check_id,
        request_id=f"review:{item.id}",
        requested_at=now,
        org_id=principal.org_id,
        requester=requester_of(request, principal),  # the reviewer (a member reference, never the id)
        channel="review",
        batch_id=batch_id,
        batch_row=item.batch_row if batch_id else None,
        invoice_code=fields.invoice_code,
        invoice_number=fields.invoice_number,
        issue_date=fields.issue_date,
        amount=fields.amount,
        check_code=fields.check_code,
    )
    shown = {name: value for name, value in values.items() if value}
    loop = asyncio.get_running_loop()

    def send(_info: store.ReviewInfo) -> None:  # in the store's transaction: no commit without the check
        future = asyncio.run_coroutine_threadsafe(
            _send(state, principal, event, item, fields, shown, now), loop
        )
        future.result(SEND_SECONDS)

    try:
        done = await run_in_threadpool(
            store.submit,
            ctx,
            principal.org_id,
            principal.subject,
            item.id,
            shown,
            str(check_id),
            send,
            client_ip(request),
        )
    except (KafkaError, ClickHouseError, OSError, EOFError, TimeoutError, RuntimeError) as exc:
        raise HTTPException(
            status_code=503,
            detail={
                "code": "not_sent",
                "msg": "the check could not be sent: nothing changed, try again",
                "msg_zh": "查验请求暂时无法发送，未做任何更改，请重试",
            },
        ) from exc
    state.cache.mark_submitted(check_id, principal.org_id)
    return ReviewOut.of(done)


async def _send(
    state: ApiState,
    principal: Principal,
    event: CheckRequested,
    item: store.ReviewInfo,
    fields: CheckFields,
    shown: dict[str, str],
    now: datetime,
) -> None:
    if event.batch_id is not None and event.batch_row is not None:
        corrected = BatchItem(
            event.batch_row,
            item.line or 0,
            item.file_name if item.kind == "document" else "",
            fields,
            (),
            shown,
        )
        put_back = await state.query(batch_store.resubmit, principal.org_id, event.batch_id, corrected, now)
        if put_back is None:
            raise RuntimeError(f"batch row {event.batch_row} of {event.batch_id} is gone")
    await state.publisher.publish(
        topics.CHECKS_REQUESTED, invoice_key(event.invoice_code, event.invoice_number), event
    )


def _conflict(code: str, message: str, message_zh: str) -> HTTPException:
    return HTTPException(status_code=409, detail={"code": code, "msg": message, "msg_zh": message_zh})
