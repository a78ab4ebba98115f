"""Combining what several sources of one document say: agreement raises confidence, conflict is reported.

The value kept for a field comes from the most reliable source that has it (XML, QR, the OFD's field
map, labelled text, then text recognised by its shape);
when another source says something else, the field is disputed and the disagreement is returned, never
silently resolved: a printed amount that contradicts the QR code is how an edited PDF shows itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from fapiao.documents.exceptions import DocumentError
from fapiao.documents.invoice_text import garbled, is_invoice_text, read_printed
from fapiao.documents.model import (
    AGREED_CONFIDENCE,
    CJK_UNREADABLE,
    DISPUTED_CONFIDENCE,
    FIELDS,
    SOURCE_CONFIDENCE,
    Disagreement,
    Found,
    Note,
    Source,
)

_PRIORITY = (Source.XML, Source.QR, Source.TAGS, Source.TEXT, Source.SHAPE)


def reconcile(
    by_source: Mapping[Source, Mapping[str, str]],
) -> tuple[dict[str, Found], tuple[Disagreement, ...]]:
    """Fields (in FIELDS order) with their source and confidence, and the fields the sources disagree on."""
    fields: dict[str, Found] = {}
    disagreements = []
    for name in FIELDS:
        seen = {s: by_source[s][name] for s in _PRIORITY if s in by_source and by_source[s].get(name)}
        if not seen:
            continue
        best, value = next(iter(seen.items()))
        agreeing = tuple(s for s, v in seen.items() if s is not best and v == value)
        if len(set(seen.values())) > 1:
            disagreements.append(Disagreement(name, seen))
            fields[name] = Found(value, best, DISPUTED_CONFIDENCE, agreeing)
        elif agreeing:
            fields[name] = Found(value, best, AGREED_CONFIDENCE, agreeing)
        else:
            fields[name] = Found(value, best, SOURCE_CONFIDENCE[best])
    return fields, tuple(disagreements)


def printed_sources(
    by_source: dict[Source, dict[str, str]], text: str, qr: dict[str, str] | None
) -> list[Note]:
    """Add the printed text's fields to the other sources: labelled ones as text, and those recognised
    only by their shape where no other source has the field (a guess never disputes a reading); the
    note when the text's CJK could not be trusted."""
    printed = read_printed(text, qr)
    if printed.labelled:
        by_source[Source.TEXT] = printed.labelled
    known = {name for fields in by_source.values() for name in fields}
    shape = {k: v for k, v in printed.by_shape.items() if k not in known}
    if shape:
        by_source[Source.SHAPE] = shape
    return [CJK_UNREADABLE] if text.strip() and not printed.cjk_readable else []


def refuse_unless_invoice(
    text: str,
    structured: bool,
    other_codes: bool,
    by_source: Mapping[Source, Mapping[str, str]],
    unreadable: str,
) -> None:
    """An invoice shows itself by its data (invoice XML, an invoice QR code: `structured`) or by calling
    itself 发票 and printing a number; a bank receipt, a contract or a letter does neither and is
    refused with `not_an_invoice`. An invoice face without a readable number, or text too garbled to
    tell (a broken font and no QR code), gets `unreadable`."""
    if structured:
        return
    if is_invoice_text(text):
        if any("invoice_number" in fields for fields in by_source.values()):
            return
        raise DocumentError(unreadable)
    if garbled(text):
        raise DocumentError(unreadable)
    raise DocumentError("not_an_invoice" if text.strip() or other_codes else unreadable)
