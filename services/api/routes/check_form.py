"""`/v1/inspect` and `/v1/documents/extract`: what the web app's one search box was given, asked of the
server so the browser never repeats the code, number, QR and document rules."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from fapiao.documents import DocumentError, Extraction
from fapiao.documents.to_check import check_fields
from fapiao.domain.check_form import CheckForm, read_pasted
from fapiao.domain.request_rules import expected_fourth_field
from fapiao.reviews import store as review_store
from fapiao.reviews.drafts import document_draft
from fapiao.reviews.triage import ReviewNeed, review_need
from services.api.deps import StateDep
from services.api.form_models import CheckFormOut, DocumentFormOut, ProblemOut
from services.api.people import requester_of
from services.api.principal import Principal, PrincipalDep, SubmitPrincipal, accounts_of
from services.api.state import ApiState

router = APIRouter(tags=["check form"])
MAX_DOCUMENT_BYTES = 20 << 20  # one invoice; batches of documents go to /v1/batches


@router.get(
    "/v1/inspect", response_model=CheckFormOut, summary="What a pasted value is and the fields it needs"
)
async def inspect(
    state: StateDep,
    _caller: PrincipalDep,
    value: Annotated[str, Query(min_length=1, max_length=400, description="code, number, both, or QR text")],
) -> CheckFormOut:
    today = datetime.now(UTC).astimezone(ZoneInfo(state.settings.timezone)).date()
    return CheckFormOut.of(read_pasted(value, today))


@router.post(
    "/v1/documents/extract",
    response_model=DocumentFormOut,
    summary="Read one e-invoice (PDF, OFD or 数电 XML) into check fields; nothing is submitted",
    description="A document whose printed text and QR code disagree on a checked field, that lacks one, "
    "or whose fields were only recognised by their shape, is not refused: it goes to the organisation's "
    "review queue (`review_id`, see `/v1/reviews`), where an analyst corrects and submits it.",
    responses={413: {"description": "over 20 MiB"}, 422: {"description": "not a readable invoice document"}},
)
async def extract(
    request: Request,
    state: StateDep,
    caller: SubmitPrincipal,
    file: Annotated[UploadFile, File(description="a PDF, OFD or XML invoice")],
) -> DocumentFormOut:
    data = await file.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise HTTPException(
            status_code=413,
            detail={
                "code": "too_large",
                "msg": "one document is at most 20 MiB",
                "msg_zh": "单个文件不超过20MB",
            },
        )
    name = file.filename or "document"
    try:
        # in a worker process with memory and time limits: a hostile file cannot touch this process
        extraction = await state.documents.aread(name, data, caller.org_id)
    except DocumentError as exc:
        raise HTTPException(
            status_code=422, detail={"code": exc.code, "msg": exc.message_en, "msg_zh": exc.message_zh}
        ) from None
    out = _document_form(extraction)
    need = review_need(extraction)
    if need is not None:  # not refused outright: a person settles it (人工复核)
        out.form = None
        out.problem = ProblemOut(code=need.code, msg=need.message_en, msg_zh=need.message_zh)
        out.review_id = await _queue_for_review(request, state, caller, extraction, need, data)
    return out


async def _queue_for_review(
    request: Request,
    state: ApiState,
    caller: Principal,
    extraction: Extraction,
    need: ReviewNeed,
    data: bytes,
) -> str:
    """Into the organisation's review queue with its first page (rendered in a worker, like the reading);
    the same file dropped twice is one item."""
    page = await asyncio.get_running_loop().run_in_executor(
        state.documents.executor, state.documents.preview, data, caller.org_id
    )
    draft = document_draft(extraction, need, digest=hashlib.new("sm3", data).hexdigest(), page_png=page)
    ids = await run_in_threadpool(
        review_store.enqueue, accounts_of(request).ctx, caller.org_id, requester_of(request, caller), [draft]
    )
    return ids[0]


def _document_form(extraction: Extraction) -> DocumentFormOut:
    out = DocumentFormOut(
        file=extraction.file_name, format=extraction.format, confidence=extraction.confidence, form=None
    )
    try:
        fields = check_fields(extraction)
    except DocumentError as exc:
        out.problem = ProblemOut(code=exc.code, msg=exc.message_en, msg_zh=exc.message_zh)
        return out
    values = {
        "invoice_code": fields.invoice_code,
        "invoice_number": fields.invoice_number,
        "issue_date": fields.issue_date.isoformat(),
        **({"amount": _money(fields.amount)} if fields.amount is not None else {}),
        **({"check_code": fields.check_code} if fields.check_code else {}),
    }
    form = CheckForm(
        kind="document",
        valid=True,
        errors=(),
        fourth_field=expected_fourth_field(fields.invoice_code, fields.invoice_number),
        digital=not fields.invoice_code,
        fplx=extraction.value("fplx"),
        values=values,
    )
    out.form = CheckFormOut.of(form)
    return out


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"
