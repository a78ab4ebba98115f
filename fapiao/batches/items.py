"""Batch items: each input row or document, in input order, as a check request or the reasons it is not.

Pure: the API reads the upload and publishes; everything it decides about a row is decided here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from fapiao.batches.row_checks import RowOutcome, RowProblem
from fapiao.batches.sheets import Cell, SheetRow
from fapiao.documents import DocumentError, Extraction, read_document
from fapiao.documents.to_check import check_fields
from fapiao.domain.check_fields import CheckFields
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.request_rules import request_problems
from fapiao.reviews.triage import review_need
from schemas.events import CheckRequested

DISPLAYED = ("invoice_code", "invoice_number", "issue_date", "amount", "check_code")


@dataclass(frozen=True)
class BatchItem:
    row: int  # 1-based position in the batch (input order): the event's batch_row
    line: int  # line of a spreadsheet row (header = 1); 0 for documents
    source_name: str  # the document's file name; '' for spreadsheet rows
    fields: CheckFields | None
    problems: tuple[RowProblem, ...] = ()
    shown: dict[str, str] = field(default_factory=dict)  # the input's values, as text, for the results file
    extraction: Extraction | None = None  # a document read but sent to review (fapiao.reviews.triage)
    page_png: bytes | None = None  # its first page, for the reviewer

    @property
    def accepted(self) -> bool:
        return self.fields is not None


def check_id_of(batch_id: UUID, row: int) -> UUID:
    """Stable per row, so a retried publish of the same batch row is the same check."""
    return uuid.uuid5(batch_id, str(row))


def item_from_row(row_number: int, sheet_row: SheetRow, outcome: RowOutcome) -> BatchItem:
    shown = {name: _text(sheet_row.values.get(name)) for name in DISPLAYED}
    return BatchItem(row_number, sheet_row.line, "", outcome.fields, outcome.problems, shown)


def item_from_document(
    row_number: int,
    name: str,
    data: bytes,
    today: date,
    read: Callable[[str, bytes], Extraction] = read_document,
) -> BatchItem:
    """Read one document (with `read`: the API passes its worker pool's) and make its check; a document
    that cannot be read is a rejected item, and one a person must look at (fields that disagree, or
    read only by their shape) a rejected item carrying its reading, for the review queue."""
    try:
        extraction = read(name, data)
        shown = {n: extraction.value(n) or "" for n in ("invoice_code", "invoice_number", "issue_date")}
        need = review_need(extraction)
        if need is not None:  # a person settles it (人工复核): rejected until corrected and resubmitted
            problem = RowProblem(0, "file", need.code, need.message_zh, need.message_en)
            return BatchItem(row_number, 0, name, None, (problem,), shown, extraction)
        fields = check_fields(extraction)
    except DocumentError as exc:
        return BatchItem(
            row_number, 0, name, None, (RowProblem(0, "file", exc.code, exc.message_zh, exc.message_en),)
        )
    shown["amount"] = str(fields.amount) if fields.amount is not None else ""
    shown["check_code"] = fields.check_code or ""
    found = request_problems(
        fields.invoice_code,
        fields.invoice_number,
        fields.issue_date,
        fields.amount,
        fields.check_code,
        today,
    )
    if found:
        problems = tuple(RowProblem(0, p.field, p.code, p.message_zh, p.message_en) for p in found)
        return BatchItem(row_number, 0, name, None, problems, shown)
    return BatchItem(row_number, 0, name, fields, (), shown)


def document_failure(row_number: int, name: str, error: DocumentError) -> BatchItem:
    return BatchItem(
        row_number, 0, name, None, (RowProblem(0, "file", error.code, error.message_zh, error.message_en),)
    )


def check_request(
    item: BatchItem, *, batch_id: UUID, org_id: str, requester: str, requested_at: datetime
) -> tuple[str, CheckRequested]:
    """(invoice key, event) of an accepted item."""
    fields = item.fields
    if fields is None:
        raise ValueError(f"batch row {item.row} was rejected; it has no check")
    event = CheckRequested(
        check_id=check_id_of(batch_id, item.row),
        request_id=f"{batch_id}:{item.row}",
        requested_at=requested_at,
        org_id=org_id,
        requester=requester,
        channel="document" if item.source_name else "batch",
        batch_id=batch_id,
        batch_row=item.row,
        invoice_code=fields.invoice_code,
        invoice_number=fields.invoice_number,
        issue_date=fields.issue_date,
        amount=fields.amount,
        check_code=fields.check_code,
    )
    return invoice_key(fields.invoice_code, fields.invoice_number), event


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()
