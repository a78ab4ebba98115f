"""`/v1/batches`: batch checks from a spreadsheet or a bundle of e-invoice documents (批量查验)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, File, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import StreamingResponse

from fapiao.analytics.export import csv_chunk, xlsx_value
from fapiao.analytics.reveal import RowOpener
from fapiao.batches.export import HEADER, result_line
from fapiao.batches.row_checks import RowProblem
from fapiao.batches.sheets import SheetError
from fapiao.batches.template import COLUMNS, EXAMPLE_ROWS, header_text
from fapiao.documents import DocumentError
from fapiao.warehouse import batches as store
from schemas.events import Verdict
from services.api.batch_intake import BatchIntake, BatchRefused, Upload, batch_kind, rejection_view
from services.api.batch_models import BatchAccepted, BatchView, RejectionView
from services.api.deps import StateDep
from services.api.people import requester_of
from services.api.principal import ReadPrincipal, SubmitPrincipal, accounts_of
from services.api.state import ApiState

router = APIRouter(prefix="/v1/batches", tags=["batches"])
EXPORT_PAGE = 5000
RESULTS_WINDOW = 25_000  # rows whose results one query reads (`_pages`)
_NOT_FOUND = {"msg": "no such batch", "msg_zh": "查无此批次"}
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_TEMPLATE = ", ".join(f"{zh}/{field}" for field, zh, _ in COLUMNS)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchAccepted,
    responses={
        413: {"description": "the upload is over the size limit"},
        422: {"description": "not a batch"},
    },
    summary="Submit a batch (批量查验): one CSV/XLSX, or PDF/OFD/XML files, or ZIPs of them",
    description=f"A spreadsheet has one invoice per row under the header: {_TEMPLATE} (Chinese or English "
    "names). Each row or document becomes a check; unusable rows are reported per row and never stop the "
    "others. Progress at `location`, results (in input order) at `results`.",
)
async def create_batch(
    files: Annotated[
        list[UploadFile], File(description="one CSV/XLSX, or PDF/OFD/XML files and ZIPs of them")
    ],
    state: StateDep,
    principal: SubmitPrincipal,
    request: Request,
) -> BatchAccepted:
    uploads = [Upload(f.filename or f"file{i}", f.file) for i, f in enumerate(files, start=1)]
    try:
        kind = batch_kind(uploads)
        file_name = uploads[0].name if len(uploads) == 1 else f"{uploads[0].name} (+{len(uploads) - 1})"
        requester = requester_of(request, principal)
        intake = BatchIntake(state, principal.org_id, requester, file_name, kind, accounts_of(request).ctx)
        record = await (intake.rows(uploads[0]) if kind == "rows" else intake.documents(uploads))
    except (BatchRefused, SheetError, DocumentError) as exc:
        raise HTTPException(
            status_code=422, detail={"code": exc.code, "msg": exc.message_en, "msg_zh": exc.message_zh}
        ) from None
    location = f"/v1/batches/{record.batch_id}"
    return BatchAccepted(
        **_counts(record.__dict__),
        location=location,
        results=f"{location}/results",
        rejections=[RejectionView.model_validate(r) for r in intake.rejections],
    )


@router.get(
    "/template",
    summary="The batch spreadsheet template (CSV or XLSX) with two example rows",
    response_class=StreamingResponse,
)
async def batch_template(
    format: Annotated[Literal["csv", "xlsx"], Query(description="csv (UTF-8 with BOM) or xlsx")] = "csv",
) -> StreamingResponse:
    lines = [list(row) for row in EXAMPLE_ROWS]
    headers = {"Content-Disposition": f'attachment; filename="batch-template.{format}"'}
    if format == "csv":
        body = csv_chunk(lines, header=header_text())
        return StreamingResponse(iter([body]), media_type="text/csv; charset=utf-8", headers=headers)

    async def one_page() -> AsyncIterator[list[list[Any]]]:
        yield lines

    spooled = await _xlsx(one_page(), header=header_text(), text_columns=True)
    return StreamingResponse(_chunks(spooled), media_type=_XLSX, headers=headers)


@router.get("/{batch_id}", response_model=BatchView, summary="Progress of a batch: done/total by verdict")
async def get_batch(batch_id: UUID, state: StateDep, principal: ReadPrincipal) -> BatchView:
    batch = await _batch(state, principal.org_id, batch_id)
    by_verdict = await state.query(store.verdict_counts, principal.org_id, batch_id, _since(batch))
    rejected = []
    if _may_have_rejections(batch):
        rejected = await state.query(store.rejections, principal.org_id, batch_id, 100)
    done = sum(n for v, n in by_verdict.items() if v != Verdict.PENDING_SYNC.value)
    accepted = int(batch["accepted"]) if batch["state"] != "receiving" else sum(by_verdict.values())
    return BatchView(
        **_counts(batch),
        done=done,
        pending=max(accepted - done, 0),
        finished=batch["state"] == "accepted" and done >= accepted,
        by_verdict=by_verdict,
        rejections=[
            RejectionView.model_validate(
                rejection_view(
                    int(r["batch_row"]),
                    int(r["line"]),
                    r["source_name"],
                    tuple(_problems(r)),
                )
            )
            for r in rejected
        ],
    )


@router.get(
    "/{batch_id}/results",
    summary="The batch's results, one line per input row, in input order (CSV or XLSX)",
    response_class=StreamingResponse,
)
async def batch_results(
    batch_id: UUID,
    state: StateDep,
    principal: ReadPrincipal,
    format: Annotated[Literal["csv", "xlsx"], Query(description="csv (UTF-8 with BOM) or xlsx")] = "csv",
) -> StreamingResponse:
    batch = await _batch(state, principal.org_id, batch_id)
    total = int(batch["total_rows"])
    name = f"batch-{batch_id}-results.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    pages = _pages(state, principal.org_id, batch_id, _since(batch), total)
    if format == "csv":
        return StreamingResponse(_csv(pages), media_type="text/csv; charset=utf-8", headers=headers)
    spooled = await _xlsx(pages)
    return StreamingResponse(_chunks(spooled), media_type=_XLSX, headers=headers)


async def _batch(state: ApiState, org_id: str, batch_id: UUID) -> dict[str, Any]:
    batch = await state.query(store.get_batch, org_id, batch_id)
    if batch is None:
        raise HTTPException(status_code=404, detail=_NOT_FOUND)
    return batch


def _may_have_rejections(batch: dict[str, Any]) -> bool:
    """False only for an accepted batch that counted no rejected row: its items were all stored and
    counted before it was accepted (a resubmitted row only ever takes a rejection away), so the
    progress poll skips the query of its rejections (a FINAL pass over the batch's items each time)."""
    return batch["state"] != "accepted" or int(batch["rejected"]) > 0


def _since(batch: dict[str, Any]) -> date:
    """A day before the batch was made: its checks' request dates are not earlier (any time zone)."""
    created: datetime = batch["created_at"]
    return created.date() - timedelta(days=1)


def _counts(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "batch_id": record["batch_id"],
        "kind": record["kind"],
        "file_name": record["file_name"],
        "state": record["state"],
        "total": record["total_rows"],
        "accepted": record["accepted"],
        "rejected": record["rejected"],
        "created_at": record["created_at"],
    }


def _problems(row: dict[str, Any]) -> list[RowProblem]:
    return [
        RowProblem(int(row["line"]), f, c, zh, en)
        for f, c, zh, en in zip(
            row["problem_fields"],
            row["problem_codes"],
            row["problem_messages_zh"],
            row["problem_messages_en"],
            strict=False,
        )
    ]


async def _pages(
    state: ApiState, org_id: str, batch_id: UUID, since: date, total: int
) -> AsyncIterator[list[list[Any]]]:
    """The results file's lines, a page of input rows at a time, in input order.

    Items are read a page at a time (their key is the batch and row: each page reads only its rows);
    results a window of RESULTS_WINDOW rows at a time, since each query of `check_results` passes over
    all of the organisation's results since the batch was made (its key has no batch): in pages of 5,000
    a 100,000-row batch's were read 20 times over. Windows of 25,000 took its download from 6.5-6.8 to
    4.1-4.5 s, for +41 MiB of API peak memory (docs/benchmarks.md)."""
    open_one = RowOpener(state.sealer)  # a batch's rows repeat few parties: each opened once
    for window in range(1, total + 1, RESULTS_WINDOW):
        window_last = min(window + RESULTS_WINDOW - 1, total)
        results = await state.query(store.results_page, org_id, batch_id, since, window, window_last)
        for first in range(window, window_last + 1, EXPORT_PAGE):
            last = min(first + EXPORT_PAGE - 1, window_last)
            items = await state.query(store.items_page, org_id, batch_id, first, last)
            opened = {row: open_one(result) for row in range(first, last + 1) if (result := results.get(row))}
            yield [result_line(item) for item in store.merge_page(items, opened)]
        del results


async def _csv(pages: AsyncIterator[list[list[Any]]]) -> AsyncIterator[bytes]:
    yield csv_chunk([], header=HEADER)  # with the BOM that makes Excel read UTF-8
    async for page in pages:
        yield csv_chunk(page)


async def _xlsx(
    pages: AsyncIterator[list[list[Any]]], *, header: list[str] | None = None, text_columns: bool = False
) -> tempfile.SpooledTemporaryFile[bytes]:
    """The workbook, written in openpyxl's write-only mode (rows streamed to the file, not kept).

    `text_columns` formats the template's columns as text, so Excel keeps codes' leading zeros."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("results" if header is None else "template")
    if text_columns:
        for letter in "ABCDE":
            sheet.column_dimensions[letter].number_format = "@"

    def cells(line: list[Any]) -> list[Any]:
        if not text_columns:
            return [xlsx_value(sheet, value) for value in line]
        out = []
        for value in line:
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = "@"
            out.append(cell)
        return out

    sheet.append(list(HEADER) if header is None else header)
    async for page in pages:
        await asyncio.to_thread(lambda p=page: [sheet.append(cells(line)) for line in p])  # type: ignore[misc]
    spooled: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (_chunks closes it)
        max_size=8 * 1024 * 1024
    )
    await asyncio.to_thread(book.save, spooled)
    spooled.seek(0)
    return spooled


async def _chunks(spooled: tempfile.SpooledTemporaryFile[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(spooled.read, 256 * 1024):
            yield chunk
    finally:
        spooled.close()
