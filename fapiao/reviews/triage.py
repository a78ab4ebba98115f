"""When a document goes to a person instead of being checked or refused (pure).

A document is reviewed when its sources disagree on a field the check uses (the printed amount is not
the QR code's: an edited face, or a misread one), when a field the check needs could not be read, or
when such a field was read only by its shape (a 20-digit number with no label, confidence 0.5): those
are the cases a person looking at the page settles in seconds and a machine should not guess.
Anything else a reader refuses (not an invoice, encrypted, damaged) stays refused: there is no page a
person could read the fields from, or nothing to check.
"""

from __future__ import annotations

from dataclasses import dataclass

from fapiao.documents.exceptions import DocumentError
from fapiao.documents.model import Extraction
from fapiao.documents.to_check import CHECKED, check_fields

REVIEW_BELOW = 0.6  # a field the check uses below this (only its shape, 0.5; disputed, 0.3) is reviewed
REVIEWED_CODES = frozenset({"fields_disagree", "missing_fields", "low_confidence"})


@dataclass(frozen=True)
class ReviewNeed:
    """Why a person must look: the reason's code, the fields concerned, and what to tell them."""

    code: str  # fields_disagree | missing_fields | low_confidence
    fields: tuple[str, ...]
    message_zh: str
    message_en: str


def review_need(extraction: Extraction) -> ReviewNeed | None:
    """Why this reading goes to review, or None when its check can be sent as it is."""
    try:
        check_fields(extraction)
    except DocumentError as exc:
        if exc.code not in REVIEWED_CODES:
            raise
        disputed = tuple(d.field for d in extraction.disagreements if d.field in CHECKED)
        return ReviewNeed(exc.code, disputed, exc.message_zh, exc.message_en)
    weak = tuple(
        name
        for name in CHECKED
        if name in extraction.fields and extraction.fields[name].confidence < REVIEW_BELOW
    )
    if not weak:
        return None
    error = DocumentError("low_confidence", fields=", ".join(weak))
    return ReviewNeed(error.code, weak, error.message_zh, error.message_en)
