"""What the review queue keeps of a rejected batch row or a document sent to review (pure)."""

from __future__ import annotations

from uuid import UUID

from fapiao.batches.items import BatchItem
from fapiao.documents.model import Extraction
from fapiao.documents.to_check import proposed_fields
from fapiao.reviews.correction import proposed_values
from fapiao.reviews.store import Draft
from fapiao.reviews.triage import ReviewNeed


def document_draft(
    extraction: Extraction,
    need: ReviewNeed,
    *,
    digest: str = "",
    page_png: bytes | None = None,
    batch_id: UUID | None = None,
    batch_row: int | None = None,
) -> Draft:
    """A document whose reading a person must settle: the reading itself (fields, sources, the
    disagreements), the check it proposes, its first page."""
    return Draft(
        kind="document",
        reason=need.code,
        reason_zh=need.message_zh,
        reason_en=need.message_en,
        extracted=extraction.to_dict(),
        proposed=proposed_fields(extraction),
        file_name=extraction.file_name,
        digest=digest,
        batch_id=str(batch_id) if batch_id else None,
        batch_row=batch_row,
        page_png=page_png,
    )


def batch_draft(item: BatchItem, batch_id: UUID) -> Draft | None:
    """The review item of a rejected batch item: every rejected spreadsheet row, and the documents sent
    to review; None for accepted items and for documents no person could read fields from (encrypted,
    damaged, not an invoice)."""
    if item.accepted or not item.problems:
        return None
    first = item.problems[0]
    if item.source_name:
        if item.extraction is None:
            return None
        need = ReviewNeed(first.code, (), first.message_zh, first.message_en)
        return document_draft(
            item.extraction, need, page_png=item.page_png, batch_id=batch_id, batch_row=item.row
        )
    problems = [
        {"field": p.field, "code": p.code, "message_zh": p.message_zh, "message_en": p.message_en}
        for p in item.problems
    ]
    return Draft(
        kind="batch_row",
        reason=first.code,
        reason_zh="; ".join(f"{p.field}: {p.message_zh}" for p in item.problems),
        reason_en="; ".join(f"{p.field}: {p.message_en}" for p in item.problems),
        extracted={"values": dict(item.shown), "problems": problems},
        proposed=proposed_values(item.shown),
        batch_id=str(batch_id),
        batch_row=item.row,
        line=item.line,
    )
