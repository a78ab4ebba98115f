"""OFD e-invoices (GB/T 33190): a ZIP of XML. The invoice data attached to the document (with its
`GraphCode` QR string), and the page text as a second, printed source.

Layout read: `OFD.xml` -> `DocBody/DocRoot` (e.g. `Doc_0/Document.xml`) -> `Attachments` (an index of
attached files, the invoice XML among them) and `Pages/Page@BaseLoc` (page content with TextObjects).
"""

from __future__ import annotations

import io
import posixpath
from xml.etree.ElementTree import Element

from fapiao.documents.exceptions import DocumentError
from fapiao.documents.invoice_text import fields_from_text
from fapiao.documents.invoice_xml import fields_from_xml, graph_code, local_name, parse_xml
from fapiao.documents.model import Extraction, Note, Source
from fapiao.documents.qr_fields import fields_from_qr
from fapiao.documents.reconcile import reconcile
from fapiao.documents.safe_zip import SafeZip, ZipLimits, resolve

OFD_LIMITS = ZipLimits(
    max_members=2_000, max_member_bytes=20 * 1024 * 1024, max_total_bytes=100 * 1024 * 1024
)
MAX_PAGES = 2


def read_ofd(data: bytes, file_name: str) -> Extraction:
    with SafeZip(io.BytesIO(data), OFD_LIMITS) as archive:
        if not archive.has("OFD.xml"):
            raise DocumentError("ofd_damaged")
        doc_root = _first_text(parse_xml(archive.read("OFD.xml")), "DocRoot")
        if not doc_root:
            raise DocumentError("ofd_damaged")
        doc_path = resolve("", doc_root)
        doc_dir = posixpath.dirname(doc_path)
        document = parse_xml(archive.read(doc_path))
        by_source: dict[Source, dict[str, str]] = {}
        notes: list[Note] = []
        xml_fields, qr_text = _attachments(archive, document, doc_dir)
        if xml_fields:
            by_source[Source.XML] = xml_fields
        if qr_text:
            qr_fields = fields_from_qr(qr_text)
            if qr_fields:
                by_source[Source.QR] = qr_fields
            else:
                notes.append(
                    Note("qr_not_invoice", "GraphCode不是发票二维码", "the GraphCode is not an invoice QR")
                )
        text_fields = fields_from_text(_page_text(archive, document, doc_dir))
        if text_fields:
            by_source[Source.TEXT] = text_fields
    if not by_source:
        raise DocumentError("ofd_unreadable")
    fields, disagreements = reconcile(by_source)
    return Extraction(file_name, "ofd", fields, disagreements, tuple(notes))


def _attachments(archive: SafeZip, document: Element, doc_dir: str) -> tuple[dict[str, str], str | None]:
    index = _first_text(document, "Attachments")
    if not index:
        return {}, None
    index_path = resolve(doc_dir, index)
    index_dir = posixpath.dirname(index_path)
    fields: dict[str, str] = {}
    qr: str | None = None
    for element in parse_xml(archive.read(index_path)).iter():
        if local_name(element) != "FileLoc" or not (element.text or "").strip().lower().endswith(".xml"):
            continue
        path = resolve(index_dir, element.text or "")
        if not archive.has(path):
            continue
        root = parse_xml(archive.read(path))
        fields = fields or fields_from_xml(root)
        qr = qr or graph_code(root)
    return fields, qr


def _page_text(archive: SafeZip, document: Element, doc_dir: str) -> str:
    """Text of the first pages, TextObjects grouped into lines by their top edge, left to right."""
    lines: list[str] = []
    pages = [e.get("BaseLoc", "") for e in document.iter() if local_name(e) == "Page"][:MAX_PAGES]
    for base in pages:
        path = resolve(doc_dir, base)
        if not archive.has(path):
            continue
        placed: list[tuple[float, float, str]] = []
        for element in parse_xml(archive.read(path)).iter():
            if local_name(element) != "TextObject":
                continue
            x, y = _origin(element.get("Boundary", ""))
            text = "".join(t.text or "" for t in element.iter() if local_name(t) == "TextCode")
            placed.append((round(y), x, text))
        rows: dict[int, list[tuple[float, str]]] = {}
        for y, x, text in placed:
            rows.setdefault(int(y), []).append((x, text))
        lines.extend(" ".join(t for _, t in sorted(row)) for _, row in sorted(rows.items()))
    return "\n".join(lines)


def _origin(boundary: str) -> tuple[float, float]:
    try:
        x, y, *_ = (float(v) for v in boundary.split())
        return x, y
    except ValueError:
        return 0.0, 0.0


def _first_text(root: Element, name: str) -> str | None:
    return next(
        (e.text.strip() for e in root.iter() if local_name(e) == name and e.text and e.text.strip()), None
    )
