"""Document readers on generated e-invoices of every type, and on every kind of broken file."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from decimal import Decimal

import pytest

from fapiao.demo.documents import (
    amount_in_words,
    einvoice_xml,
    invoice_ofd,
    invoice_pdf,
    qr_text,
    sample_invoices,
    zip_bytes,
)
from fapiao.documents import DocumentError, Extraction, Source, read_document
from fapiao.documents.invoice_text import fields_from_text
from fapiao.documents.safe_zip import SafeZip, ZipLimits, safe_member_name
from fapiao.documents.to_check import check_fields
from fapiao.domain.check_fields import fourth_field_value
from fapiao.domain.invoice_types import INVOICE_TYPES, invoice_type
from schemas.events import InvoiceIssued

INVOICES = sample_invoices()
DIGITAL = [fplx for fplx, kind in INVOICE_TYPES.items() if kind.digital]


def _expected_check(invoice: InvoiceIssued) -> tuple[str, str, str, Decimal | None, str | None]:
    amount, check_code = fourth_field_value(
        invoice_type(invoice.fplx).fourth_field,
        amount=invoice.amount,
        total=invoice.total,
        check_code=invoice.check_code,
    )
    return invoice.invoice_code, invoice.invoice_number, invoice.issue_date.isoformat(), amount, check_code


def _check_of(extraction: Extraction) -> tuple[str, str, str, Decimal | None, str | None]:
    fields = check_fields(extraction)
    return (
        fields.invoice_code,
        fields.invoice_number,
        fields.issue_date.isoformat(),
        fields.amount,
        fields.check_code,
    )


def test_samples_cover_every_type() -> None:
    assert set(INVOICES) == set(INVOICE_TYPES)


@pytest.mark.parametrize("fplx", sorted(INVOICE_TYPES))
def test_pdf_text_layer_and_qr_agree_on_every_type(fplx: str) -> None:
    invoice = INVOICES[fplx]
    extraction = read_document(f"{fplx}.pdf", invoice_pdf(invoice))
    assert extraction.format == "pdf" and not extraction.disagreements and not extraction.notes
    assert _check_of(extraction) == _expected_check(invoice)
    number = extraction.fields["invoice_number"]
    assert number.source is Source.QR and Source.TEXT in number.also_in and number.confidence == 1.0
    assert extraction.value("fplx") == fplx
    assert extraction.value("seller_name") == invoice.seller.name
    assert extraction.value("buyer_name") == invoice.buyer.name
    assert extraction.value("total") == f"{invoice.total:.2f}"
    assert extraction.confidence == 1.0


@pytest.mark.parametrize("fplx", sorted(INVOICE_TYPES))
def test_ofd_invoice_data_graph_code_and_page_text_on_every_type(fplx: str) -> None:
    invoice = INVOICES[fplx]
    extraction = read_document(f"{fplx}.ofd", invoice_ofd(invoice))
    assert extraction.format == "ofd" and not extraction.disagreements
    assert _check_of(extraction) == _expected_check(invoice)
    number = extraction.fields["invoice_number"]
    assert number.source is Source.XML and set(number.also_in) == {Source.QR, Source.TEXT}
    assert extraction.value("seller_tax_id") == invoice.seller.tax_id


@pytest.mark.parametrize("fplx", DIGITAL)
@pytest.mark.parametrize("graph_code", [False, True])
def test_digital_xml_on_every_digital_type(fplx: str, graph_code: bool) -> None:
    invoice = INVOICES[fplx]
    extraction = read_document(f"{fplx}.xml", einvoice_xml(invoice, graph_code=graph_code))
    assert extraction.format == "xml"
    assert _check_of(extraction) == _expected_check(invoice)
    assert extraction.value("fplx") == fplx
    assert (
        extraction.value("amount") == f"{invoice.amount:.2f}"
        and extraction.value("tax") == f"{invoice.tax:.2f}"
    )
    assert extraction.fields["total"].source is Source.XML
    assert extraction.confidence == (1.0 if graph_code else 0.99)


_TEN = INVOICES["10"]
_PDF = invoice_pdf(_TEN)


def _doctored() -> bytes:
    """The QR code of the genuine invoice on a face whose amount was edited."""
    edited = _TEN.model_copy(update={"amount": _TEN.amount + 1000, "total": _TEN.total + 1000})
    return invoice_pdf(edited, qr=qr_text(_TEN))


# name, bytes, the error code (or None when it reads), the note expected, the check's sources
READABLE_BROKEN: list[tuple[str, Callable[[], bytes], str, float]] = [
    ("no QR code: text layer only", lambda: invoice_pdf(_TEN, qr=None), "qr_missing", 0.75),
    ("damaged QR code", lambda: invoice_pdf(_TEN, damaged_qr=True), "qr_unreadable", 0.75),
    (
        "QR code that is not an invoice's",
        lambda: invoice_pdf(_TEN, qr="https://example.com/"),
        "qr_not_invoice",
        0.75,
    ),
]
UNREADABLE: list[tuple[str, str, Callable[[], bytes], str]] = [
    ("encrypted PDF", "a.pdf", lambda: invoice_pdf(_TEN, password="secret"), "pdf_encrypted"),
    ("truncated PDF", "a.pdf", lambda: _PDF[: len(_PDF) // 2], "pdf_damaged"),
    ("PDF cut just before its end", "a.pdf", lambda: _PDF[: len(_PDF) - 200], "pdf_damaged"),
    ("a .pdf that is not a PDF", "a.pdf", lambda: b"hello", "pdf_damaged"),
    ("image-only PDF without QR", "a.pdf", lambda: invoice_pdf(_TEN, text=False, qr=None), "pdf_unreadable"),
    (
        "image-only PDF with a damaged QR",
        "a.pdf",
        lambda: invoice_pdf(_TEN, text=False, damaged_qr=True),
        "pdf_unreadable",
    ),
    ("empty file", "a.pdf", lambda: b"", "empty_file"),
    ("unknown kind", "a.docx", lambda: b"\x00\x01binary", "unsupported_format"),
    ("XML of another kind", "a.xml", lambda: b"<Invoice><No>1</No></Invoice>", "xml_not_einvoice"),
    ("malformed XML", "a.xml", lambda: b"<EInvoice><Header></EInvoice>", "xml_malformed"),
    (
        "XML with entities (billion laughs)",
        "a.xml",
        lambda: (
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aa"><!ENTITY b "&a;&a;">]>'
            b"<EInvoice>&b;</EInvoice>"
        ),
        "xml_forbidden",
    ),
    ("truncated XML", "a.xml", lambda: einvoice_xml(INVOICES["32"])[:300], "xml_malformed"),
    (
        "OFD without OFD.xml",
        "a.ofd",
        lambda: zip_bytes({"Doc_0/Document.xml": b"<Document/>"}),
        "ofd_damaged",
    ),
    (
        "OFD with nothing readable",
        "a.ofd",
        lambda: invoice_ofd(_TEN, attachment=False, page_text=False),
        "ofd_unreadable",
    ),
    ("truncated OFD", "a.ofd", lambda: invoice_ofd(_TEN)[:400], "zip_damaged"),
    (
        "OFD with a ../ member",
        "a.ofd",
        lambda: zip_bytes({"OFD.xml": b"<OFD/>", "../evil.xml": b"x"}),
        "zip_unsafe_path",
    ),
    (
        "OFD whose DocRoot climbs out",
        "a.ofd",
        lambda: zip_bytes({"OFD.xml": b"<OFD><DocBody><DocRoot>../../etc/passwd</DocRoot></DocBody></OFD>"}),
        "zip_unsafe_path",
    ),
]


@pytest.mark.parametrize(
    ("name", "build", "note", "confidence"), READABLE_BROKEN, ids=[c[0] for c in READABLE_BROKEN]
)
def test_pdf_without_a_usable_qr_falls_back_to_the_text_layer(
    name: str, build: Callable[[], bytes], note: str, confidence: float
) -> None:
    extraction = read_document("a.pdf", build())
    assert [n.code for n in extraction.notes] == [note]
    assert extraction.confidence == confidence
    assert all(f.source is Source.TEXT for f in extraction.fields.values())
    assert _check_of(extraction) == _expected_check(_TEN)


def test_image_only_pdf_with_a_qr_code_is_read_from_the_qr_code() -> None:
    extraction = read_document("scan.pdf", invoice_pdf(_TEN, text=False))
    assert {f.source for f in extraction.fields.values()} == {Source.QR}
    assert extraction.confidence == 0.95
    assert _check_of(extraction) == _expected_check(_TEN)


def test_text_and_qr_disagreement_is_reported_and_refused_for_a_check() -> None:
    extraction = read_document("edited.pdf", _doctored())
    assert [d.field for d in extraction.disagreements] == ["amount"]  # the QR code of a 10 carries no total
    disputed = extraction.disagreements[0]
    assert disputed.values[Source.QR] == f"{_TEN.amount:.2f}"
    assert disputed.values[Source.TEXT] == f"{_TEN.amount + 1000:.2f}"
    assert extraction.fields["amount"].confidence == 0.3
    with pytest.raises(DocumentError) as refused:
        check_fields(extraction)
    assert refused.value.code == "fields_disagree" and "amount" in refused.value.message_en


@pytest.mark.parametrize(("name", "file_name", "build", "code"), UNREADABLE, ids=[c[0] for c in UNREADABLE])
def test_unreadable_documents_are_refused_with_a_reason(
    name: str, file_name: str, build: Callable[[], bytes], code: str
) -> None:
    with pytest.raises(DocumentError) as refused:
        read_document(file_name, build())
    assert refused.value.code == code
    assert refused.value.message_zh and refused.value.message_en


def test_to_dict_says_where_each_field_came_from() -> None:
    data = read_document("a.pdf", _PDF).to_dict()
    assert data["fields"]["invoice_number"] == {
        "value": _TEN.invoice_number,
        "source": "qr",
        "confidence": 1.0,
        "also_in": ["text_layer"],
    }
    assert data["fields"]["seller_name"]["source"] == "text_layer"


TEXTS = [
    (
        "older e-invoice",
        "北京增值税电子普通发票\n发票代码: 011002300111\n发票号码: 12345678\n开票日期: 2026年11月20日\n"
        "校验码: 12345 67890 12345 67890\n名 称: 甲公司\n纳税人识别号: 911101056317066918\n"
        "合 计 ¥1,000.00 ¥130.00\n价税合计（大写） 壹仟壹佰叁拾圆整 （小写）¥1,130.00\n"
        "名 称：乙公司\n纳税人识别号：9111010829141777X4",
        {
            "fplx": "10",
            "invoice_code": "011002300111",
            "invoice_number": "12345678",
            "issue_date": "2026-11-20",
            "check_code": "12345678901234567890",
            "amount": "1000.00",
            "tax": "130.00",
            "total": "1130.00",
            "buyer_name": "甲公司",
            "buyer_tax_id": "911101056317066918",
            "seller_name": "乙公司",
            "seller_tax_id": "9111010829141777X4",
        },
    ),
    (
        "数电, side by side, individual buyer",
        "电子发票（普通发票）\n发票号码：26112000000004231957\n开票日期：2026年01月05日\n"
        "名称：张三 名称：丙商店\n"
        "统一社会信用代码/纳税人识别号： 统一社会信用代码/纳税人识别号：92110108MA01ABCD1X\n"
        "合 计 ¥100.00 ¥1.00\n价税合计（大写） 壹佰零壹圆整 （小写）¥101.00",
        {
            "fplx": "32",
            "invoice_number": "26112000000004231957",
            "issue_date": "2026-01-05",
            "amount": "100.00",
            "tax": "1.00",
            "total": "101.00",
            "buyer_name": "张三",
            "seller_name": "丙商店",
            "seller_tax_id": "92110108MA01ABCD1X",
        },
    ),
    ("no invoice at all", "会议纪要\n时间: 2026年11月20日", {}),
]


@pytest.mark.parametrize(("name", "text", "expected"), TEXTS, ids=[t[0] for t in TEXTS])
def test_fields_from_printed_text(name: str, text: str, expected: dict[str, str]) -> None:
    assert fields_from_text(text) == expected


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("Doc_0/Document.xml", True),
        ("a/b/c.pdf", True),
        ("../evil.pdf", False),
        ("a/../../evil.pdf", False),
        ("/etc/passwd", False),
        ("C:/Windows/x.pdf", False),
        ("a\\..\\b.pdf", False),
        ("", False),
    ],
)
def test_safe_member_names(name: str, ok: bool) -> None:
    assert safe_member_name(name) is ok


def test_zip_bomb_is_refused_before_inflating() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.pdf", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(DocumentError) as refused:
        SafeZip(io.BytesIO(out.getvalue()))
    assert refused.value.code == "zip_too_large"


def test_a_lying_zip_directory_is_caught_while_inflating() -> None:
    archive = SafeZip(io.BytesIO(zip_bytes({"a.xml": b"x" * 5000})), ZipLimits(max_member_bytes=10_000))
    archive.limits = ZipLimits(max_member_bytes=1000)  # as if the directory had declared a small size
    with pytest.raises(DocumentError) as refused:
        archive.read("a.xml")
    assert refused.value.code == "zip_too_large"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1130.00", "壹仟壹佰叁拾圆整"),
        ("1190.84", "壹仟壹佰玖拾圆捌角肆分"),
        ("100005.05", "壹拾万零伍圆零伍分"),
        ("0.50", "伍角整"),
    ],
)
def test_amount_in_words(value: str, words: str) -> None:
    assert amount_in_words(Decimal(value)) == words
