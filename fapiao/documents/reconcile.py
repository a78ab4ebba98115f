"""Combining what several sources of one document say: agreement raises confidence, conflict is reported.

The value kept for a field comes from the most reliable source that has it (XML, then QR, then text);
when another source says something else, the field is disputed and the disagreement is returned, never
silently resolved: a printed amount that contradicts the QR code is how an edited PDF shows itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from fapiao.documents.model import (
    AGREED_CONFIDENCE,
    DISPUTED_CONFIDENCE,
    FIELDS,
    SOURCE_CONFIDENCE,
    Disagreement,
    Found,
    Source,
)

_PRIORITY = (Source.XML, Source.QR, Source.TEXT)


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
