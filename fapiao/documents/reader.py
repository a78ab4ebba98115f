"""One entry point for every document kind, chosen by the file's content (then its suffix)."""

from __future__ import annotations

from pathlib import PurePosixPath

from fapiao.documents.exceptions import DocumentError
from fapiao.documents.invoice_xml import fields_from_xml, graph_code, local_name, parse_xml
from fapiao.documents.model import Extraction, Note, Source
from fapiao.documents.ofd_reader import read_ofd
from fapiao.documents.pdf_reader import read_pdf
from fapiao.documents.qr_fields import fields_from_qr
from fapiao.documents.reconcile import reconcile

DOCUMENT_SUFFIXES = frozenset({".pdf", ".ofd", ".xml"})


def document_kind(name: str, data: bytes) -> str | None:
    """'pdf', 'ofd' or 'xml' from the magic bytes, else from the suffix; None when neither tells."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "ofd"
    if head.startswith(b"<"):
        return "xml"
    suffix = PurePosixPath(name.lower()).suffix
    return suffix[1:] if suffix in DOCUMENT_SUFFIXES else None


def read_document(name: str, data: bytes) -> Extraction:
    """Fields of an e-invoice document; DocumentError when it cannot be read."""
    if not data:
        raise DocumentError("empty_file")
    kind = document_kind(name, data)
    if kind == "pdf":
        return read_pdf(data, name)
    if kind == "ofd":
        return read_ofd(data, name)
    if kind == "xml":
        return read_einvoice_xml(data, name)
    raise DocumentError("unsupported_format")


def read_einvoice_xml(data: bytes, file_name: str) -> Extraction:
    """A 数电 invoice XML file (root `EInvoice`)."""
    root = parse_xml(data)
    if local_name(root) != "EInvoice":
        raise DocumentError("xml_not_einvoice")
    by_source: dict[Source, dict[str, str]] = {Source.XML: fields_from_xml(root)}
    notes: list[Note] = []
    qr = graph_code(root)
    if qr and (qr_fields := fields_from_qr(qr)):
        by_source[Source.QR] = qr_fields
    fields, disagreements = reconcile(by_source)
    return Extraction(file_name, "xml", fields, disagreements, tuple(notes))
