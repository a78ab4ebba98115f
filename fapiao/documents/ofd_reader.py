"""OFD e-invoices (GB/T 33190): a ZIP of XML, read from every place real invoices keep their fields.

Sources, most trusted first: the invoice XML attached to older layouts (with its `GraphCode` QR string,
or a base64 QR image as 百望 writes it); the QR code (that string; else an image a page draws: 数电 OFDs
draw a PNG/JPEG under `Res/`, an image-only OFD is one page image holding it; else the first page's path
objects drawn, for a QR code drawn as vectors); the OFD's own field map (`CustomTag.xml` naming which
text object is 发票号码, 购买方名称 …, and `DocInfo/CustomDatas`); and the printed text: labels on the
template page, bare values on the page, put together by where they are printed (`printed_lines`).

A package with no invoice in it (no invoice XML, no invoice QR code, no 发票 in its text) is refused
with `not_an_invoice`; one with nothing readable at all, or only garbled text, with `ofd_unreadable`.
"""

from __future__ import annotations

import io

from fapiao.documents.invoice_xml import fields_from_xml, graph_code, parse_xml
from fapiao.documents.model import Extraction, Source
from fapiao.documents.normalize import canonical
from fapiao.documents.ofd_package import OfdPackage, read_package
from fapiao.documents.ofd_paths import render
from fapiao.documents.printed_lines import lines
from fapiao.documents.qr_fields import fields_from_qr, read_qr
from fapiao.documents.qr_image import NOTHING, QrScan, scan_base64_image, scan_image_bytes, scan_qr
from fapiao.documents.reconcile import printed_sources, reconcile, refuse_unless_invoice
from fapiao.documents.safe_zip import SafeZip, ZipLimits

OFD_LIMITS = ZipLimits(
    max_members=2_000, max_member_bytes=20 * 1024 * 1024, max_total_bytes=100 * 1024 * 1024
)
MAX_IMAGES = 12  # images tried for a QR code (an invoice has one QR, a seal, perhaps a page scan)

# CustomTag.xml element names (older and 数电 layouts) -> field
_TAG_FIELDS = {
    "InvoiceCode": "invoice_code",
    "InvoiceNo": "invoice_number",
    "IssueDate": "issue_date",
    "InvoiceCheckCode": "check_code",
    "BuyerName": "buyer_name",
    "BuyerTaxID": "buyer_tax_id",
    "SellerName": "seller_name",
    "SellerTaxID": "seller_tax_id",
    "TaxExclusiveTotalAmount": "amount",
    "TaxTotalAmount": "tax",
    "TaxInclusiveTotalAmount": "total",
}
# DocInfo/CustomData names -> field
_DATA_FIELDS = {
    "发票代码": "invoice_code",
    "发票号码": "invoice_number",
    "开票日期": "issue_date",
    "校验码": "check_code",
    "合计金额": "amount",
    "合计税额": "tax",
    "价税合计": "total",
    "购买方名称": "buyer_name",
    "购买方纳税人识别号": "buyer_tax_id",
    "销售方名称": "seller_name",
    "销售方纳税人识别号": "seller_tax_id",
}


def read_ofd(data: bytes, file_name: str) -> Extraction:
    with SafeZip(io.BytesIO(data), OFD_LIMITS) as archive:
        package = read_package(archive)
        xml_fields, qr_texts, qr_unreadable = _attachments(archive, package)
        if not any(fields_from_qr(t) for t in qr_texts):
            scan_texts, scan_unreadable = _image_qr_codes(archive, package)
            qr_texts += scan_texts
            qr_unreadable += scan_unreadable
        if not any(fields_from_qr(t) for t in qr_texts) and package.paths:
            drawn = _drawn_qr_codes(package)  # a QR code drawn as vector paths
            qr_texts += drawn.texts
            qr_unreadable += drawn.unreadable
    text = "\n".join(lines([t.piece for t in package.texts]))
    by_source: dict[Source, dict[str, str]] = {}
    if xml_fields:
        by_source[Source.XML] = xml_fields
    qr_fields, qr_note = read_qr(qr_texts, qr_unreadable, say_missing=False)
    if qr_fields:
        by_source[Source.QR] = qr_fields
    notes = [qr_note] if qr_note else []
    if tag_fields := _tag_fields(package):
        by_source[Source.TAGS] = tag_fields
    notes += printed_sources(by_source, text, qr_fields)
    refuse_unless_invoice(text, bool(xml_fields or qr_fields), bool(qr_texts), by_source, "ofd_unreadable")
    fields, disagreements = reconcile(by_source)
    return Extraction(file_name, "ofd", fields, disagreements, tuple(notes))


def _attachments(archive: SafeZip, package: OfdPackage) -> tuple[dict[str, str], list[str], int]:
    """Fields of the attached invoice XML, its GraphCode QR strings (a base64 image decoded)."""
    fields: dict[str, str] = {}
    qr_texts: list[str] = []
    unreadable = 0
    for path in package.attachments:
        root = parse_xml(archive.read(path))
        fields = fields or fields_from_xml(root)
        code = graph_code(root)
        if code and fields_from_qr(code):
            qr_texts.append(code)
        elif code:
            scan = scan_base64_image(code)
            qr_texts.extend(scan.texts or (code,))
            unreadable += scan.unreadable
    return fields, qr_texts, unreadable


def _image_qr_codes(archive: SafeZip, package: OfdPackage) -> tuple[list[str], int]:
    """QR strings of the images the pages draw (never of other images the package happens to hold: a
    leftover from another invoice must not speak for this one); the first image holding an invoice QR
    code ends the search."""
    texts: list[str] = []
    unreadable = 0
    for path in package.images[:MAX_IMAGES]:
        scan = scan_image_bytes(archive.read(path))
        texts.extend(scan.texts)
        unreadable += scan.unreadable
        if any(fields_from_qr(t) for t in scan.texts):
            break
    return texts, unreadable


def _drawn_qr_codes(package: OfdPackage) -> QrScan:
    image = render(package.paths, *package.page_mm)
    return scan_qr(image) if image is not None else NOTHING


def _tag_fields(package: OfdPackage) -> dict[str, str]:
    """Fields from CustomTag.xml (the text of the objects it names) and, where it says nothing, from
    DocInfo's CustomDatas."""
    by_id: dict[str, str] = {}
    for text_object in package.texts:
        by_id.setdefault(text_object.object_id, text_object.piece.text)
    found: dict[str, str] = {}
    for tag, refs in package.tags.items():
        field = _TAG_FIELDS.get(tag)
        raw = "".join(by_id.get(r, "") for r in refs)
        if field and raw and field not in found and (value := canonical(field, raw)):
            found[field] = value
    for name, raw in package.custom_data.items():
        field = _DATA_FIELDS.get(name)
        if field and field not in found and (value := canonical(field, raw)):
            found[field] = value
    return found
