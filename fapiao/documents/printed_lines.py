"""Positioned pieces of printed text (OFD text objects, PDF characters) into reading-order lines.

Readers that know where each piece sits, not in which order it was written: real OFD invoices write
their labels on a template page and their values on the page, in any order, and some PDFs space every
character of a line evenly. Pieces whose baselines are within a tolerance form one line, read left to
right; a space separates two pieces where the document prints one, or where the gap is wider than the
line's usual gap, so evenly spaced characters ("名 称 ： 中 国") come out as words ("名称：中国").
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from statistics import median


@dataclass(frozen=True)
class Piece:
    x: float  # left edge
    y: float  # baseline, growing downwards (OFD millimetres, PDF points from the top)
    width: float  # 0 when unknown (then pieces are joined with a space)
    size: float  # font size, in the same unit
    text: str


def lines(pieces: list[Piece]) -> list[str]:
    """The text of the pieces as lines, top to bottom."""
    rows: list[list[Piece]] = []
    for piece in sorted((p for p in pieces if p.text), key=lambda p: (p.y, p.x)):
        tolerance = max(piece.size * 0.4, 0.5)
        if rows and abs(rows[-1][0].y - piece.y) <= tolerance:
            rows[-1].append(piece)
        else:
            rows.append([piece])
    joined = (_join(sorted(row, key=lambda p: p.x)) for row in rows)
    return [line for line in joined if line]


def _join(row: list[Piece]) -> str:
    """The row's text; a printed blank (a piece of white space) becomes one space before what follows."""
    printed = [p for p in row if p.text.strip()]
    if not printed:
        return ""
    gaps = [b.x - (a.x + a.width) for a, b in itertools.pairwise(printed) if a.width]
    usual = max(median(gaps), 0.0) if gaps else 0.0
    out: list[str] = []
    blank = False
    before: Piece | None = None
    for piece in row:
        if not piece.text.strip():
            blank = before is not None
            continue
        if before is not None:
            gap = piece.x - (before.x + before.width)
            wide = blank or not before.width or gap > usual * 1.5 + piece.size * 0.3
            out.append(" " if wide else "")
        out.append(piece.text.strip())
        before, blank = piece, False
    return "".join(out)
