"""E-invoice PDFs: the text layer (pdfplumber) and the QR code (page rendered by pypdfium2, decoded).

The QR code is the more reliable source; when both are there they are reconciled field by field and
any disagreement is reported. An encrypted PDF, or one with neither text nor a readable QR code (an
image-only scan), is refused with a DocumentError.
"""

from __future__ import annotations

import io
import logging

import pdfplumber
import pypdfium2
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFSyntaxError
from pdfminer.psexceptions import PSException
from pdfplumber.utils.exceptions import PdfminerException

from fapiao.documents.exceptions import DocumentError
from fapiao.documents.invoice_text import fields_from_text
from fapiao.documents.model import Extraction, Note, Source
from fapiao.documents.qr_fields import fields_from_qr
from fapiao.documents.qr_image import scan_qr
from fapiao.documents.reconcile import reconcile

MAX_PAGES = 2  # an invoice is one page; a second may carry the rest of the lines
RENDER_SCALE = 2.0  # 144 dpi: a 2 cm QR code gets ~4 px per module
logging.getLogger("pdfminer").setLevel(logging.ERROR)


def read_pdf(data: bytes, file_name: str) -> Extraction:
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise DocumentError("pdf_damaged")
    text = _text_layer(data)
    qr_texts, unreadable = _qr_codes(data)
    notes = []
    by_source: dict[Source, dict[str, str]] = {}
    text_fields = fields_from_text(text)
    if text_fields:
        by_source[Source.TEXT] = text_fields
    qr_fields = next((f for f in map(fields_from_qr, qr_texts) if f), None)
    if qr_fields:
        by_source[Source.QR] = qr_fields
    elif qr_texts:
        notes.append(Note("qr_not_invoice", "二维码不是发票二维码", "the QR code is not an invoice QR code"))
    elif unreadable:
        notes.append(Note("qr_unreadable", "二维码无法识别", "a QR code was found but could not be decoded"))
    else:
        notes.append(Note("qr_missing", "未找到二维码", "no QR code found on the page"))
    if not by_source:
        raise DocumentError("pdf_unreadable")
    fields, disagreements = reconcile(by_source)
    return Extraction(file_name, "pdf", fields, disagreements, tuple(notes))


def _text_layer(data: bytes) -> str:
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            return "\n".join(page.extract_text() or "" for page in pdf.pages[:MAX_PAGES])
    except PdfminerException as exc:  # pdfplumber wraps what pdfminer raised while opening
        cause = exc.args[0] if exc.args else None
        encrypted = isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError)
        raise DocumentError("pdf_encrypted" if encrypted else "pdf_damaged") from None
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise DocumentError("pdf_encrypted") from None
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError, AttributeError, IndexError):
        # pdfminer reports damage through many exception types; a damaged file is not a bug of ours
        raise DocumentError("pdf_damaged") from None


def _qr_codes(data: bytes) -> tuple[list[str], int]:
    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise DocumentError("pdf_encrypted" if "password" in str(exc).lower() else "pdf_damaged") from None
    texts: list[str] = []
    unreadable = 0
    try:
        for index in range(min(len(pdf), MAX_PAGES)):
            page = pdf[index]
            image = page.render(scale=RENDER_SCALE, grayscale=True).to_pil()
            scan = scan_qr(image)
            texts.extend(scan.texts)
            unreadable += scan.unreadable
            if texts:
                break
    finally:
        pdf.close()
    return texts, unreadable
