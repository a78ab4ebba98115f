"""`/v1/inspect` and `/v1/documents/extract`: what the web app's one search box was given, asked of the
server so the browser never repeats the code, number, QR and document rules."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, HTTPException, Query, UploadFile

from fapiao.documents import DocumentError, Extraction
from fapiao.documents.to_check import check_fields
from fapiao.domain.check_form import CheckForm, read_pasted
from fapiao.domain.request_rules import expected_fourth_field
from services.api.deps import StateDep
from services.api.form_models import CheckFormOut, DocumentFormOut, ProblemOut
from services.api.principal import PrincipalDep, SubmitPrincipal

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
    responses={413: {"description": "over 20 MiB"}, 422: {"description": "not a readable invoice document"}},
)
async def extract(
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
    return _document_form(extraction)


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
