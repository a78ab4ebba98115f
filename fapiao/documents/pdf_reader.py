"""E-invoice PDFs: the text layer (pdfplumber) and the QR code (page rendered by pypdfium2, decoded).

The QR code is the more reliable source; when both are there they are reconciled field by field and
any disagreement is reported. The text is rebuilt from the characters' positions (`printed_lines`), so
evenly spaced faces read as words; a text layer whose CJK is unusable keeps only what does not depend on
it (see `invoice_text.read_printed`). An encrypted PDF, one with neither text nor a readable QR code (an
image-only scan), or one that is not an invoice, is refused with a DocumentError.

Work is bounded: at most MAX_PAGES pages, at most MAX_CHARS characters of text per page, and at most
MAX_RENDER_PIXELS per rendered page (a bigger page is rendered smaller); a page so large that a QR code
could no longer be read at that size (the 14,400 pt page of a 1.3 KB hostile PDF) is refused with
`pdf_page_too_large` before anything is rendered. Time and memory are bounded by the process that reads
(`fapiao.documents.pool`).
"""

from __future__ import annotations

import io
import logging
import math

import pdfplumber
import pypdfium2
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFSyntaxError
from pdfminer.psexceptions import PSException
from pdfplumber.utils.exceptions import PdfminerException

from fapiao.documents.exceptions import DocumentError
from fapiao.documents.model import Extraction, Source
from fapiao.documents.printed_lines import Piece, lines
from fapiao.documents.qr_fields import read_qr
from fapiao.documents.qr_image import scan_qr
from fapiao.documents.reconcile import printed_sources, reconcile, refuse_unless_invoice

MAX_PAGES = 2  # an invoice is one page; a second may carry the rest of the lines
RENDER_SCALE = 2.0  # 144 dpi: a 2 cm QR code gets ~4 px per module
MAX_RENDER_PIXELS = 8_000_000  # an A3 page at 144 dpi is 4 Mpx
MIN_RENDER_SCALE = 0.75  # below 54 dpi a printed QR code cannot be decoded: not worth rendering
MAX_CHARS = 30_000  # characters of text read per page (an invoice face has ~1,500)
logging.getLogger("pdfminer").setLevel(logging.ERROR)


def read_pdf(data: bytes, file_name: str) -> Extraction:
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise DocumentError("pdf_damaged")
    text = _text_layer(data)
    qr_texts, unreadable = _qr_codes(data)
    by_source: dict[Source, dict[str, str]] = {}
    qr_fields, qr_note = read_qr(qr_texts, unreadable, say_missing=True)
    if qr_fields:
        by_source[Source.QR] = qr_fields
    notes = [qr_note] if qr_note else []
    notes += printed_sources(by_source, text, qr_fields)
    if not by_source and not text.strip():
        raise DocumentError("pdf_unreadable")
    refuse_unless_invoice(text, bool(qr_fields), bool(qr_texts), by_source, "pdf_unreadable")
    fields, disagreements = reconcile(by_source)
    return Extraction(file_name, "pdf", fields, disagreements, tuple(notes))


def _text_layer(data: bytes) -> str:
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            return "\n".join("\n".join(_page_lines(page)) for page in pdf.pages[:MAX_PAGES])
    except PdfminerException as exc:  # pdfplumber wraps what pdfminer raised while opening
        cause = exc.args[0] if exc.args else None
        if isinstance(cause, MemoryError) or isinstance(exc.__context__, MemoryError):
            raise DocumentError("document_too_complex") from None  # over the reading process's limit
        encrypted = isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError)
        raise DocumentError("pdf_encrypted" if encrypted else "pdf_damaged") from None
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise DocumentError("pdf_encrypted") from None
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError, AttributeError, IndexError):
        # pdfminer reports damage through many exception types; a damaged file is not a bug of ours
        raise DocumentError("pdf_damaged") from None


def _page_lines(page: pdfplumber.page.Page) -> list[str]:
    pieces = []
    for char in page.chars[:MAX_CHARS]:
        size = float(char.get("size") or 0)
        x0, x1 = float(char["x0"]), float(char["x1"])
        pieces.append(Piece(x0, float(char["bottom"]), max(x1 - x0, 0.0), size, char["text"]))
    return lines(pieces)


def _qr_codes(data: bytes) -> tuple[list[str], int]:
    """QR strings of the first pages and the QR symbols seen but not decoded."""
    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise DocumentError("pdf_encrypted" if "password" in str(exc).lower() else "pdf_damaged") from None
    texts: list[str] = []
    unreadable = 0
    try:
        for index in range(min(len(pdf), MAX_PAGES)):
            try:
                page = pdf[index]
            except pypdfium2.PdfiumError:  # a damaged page: no QR code from it (its text may still read)
                continue
            scale = render_scale(*page.get_size())
            if scale is None:
                raise DocumentError("pdf_page_too_large")
            image = page.render(scale=scale, grayscale=True).to_pil()
            scan = scan_qr(image)
            texts.extend(scan.texts)
            unreadable += scan.unreadable
            if texts:
                break
    finally:
        pdf.close()
    return texts, unreadable


def render_scale(width_pt: float, height_pt: float) -> float | None:
    """RENDER_SCALE, or less so that the page stays within MAX_RENDER_PIXELS; None when that would be
    too small to read a QR code (or the page size is nonsense)."""
    if not (math.isfinite(width_pt) and math.isfinite(height_pt)) or width_pt <= 0 or height_pt <= 0:
        return None
    fit = math.sqrt(MAX_RENDER_PIXELS / (width_pt * height_pt))
    scale = min(RENDER_SCALE, fit)
    return scale if scale >= MIN_RENDER_SCALE else None
