"""Real e-invoices (tests/fixtures/real, Apache-2.0) and generated files in the real layouts: every
field right, nothing wrong presented as read, non-invoices refused."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from fapiao.demo.documents import qr_text, sample_invoices
from fapiao.documents import DocumentError, Source, read_document
from fapiao.documents.invoice_text import (
    cjk_readable,
    fields_by_shape,
    fields_from_text,
    garbled,
    party_name,
)
from fapiao.documents.ofd_paths import MAX_PATHS, DrawnPath, render
from fapiao.documents.printed_lines import Piece, lines
from fapiao.documents.qr_image import MAX_IMAGE_PIXELS, scan_image_bytes
from fapiao.documents.to_check import check_fields
from tests.document_layouts import (
    bank_receipt_pdf,
    broken_cjk_pdf,
    digital_ofd,
    image_only_ofd,
    vector_qr_ofd,
    with_member,
)
from tests.hostile_documents import big_page_pdf, pdf_bytes

REAL = Path(__file__).parent.parent / "fixtures" / "real"
INVOICES = sample_invoices()
_DIGITAL_FIELDS = ("invoice_number", "issue_date", "amount", "tax", "total")
_PARTIES = ("seller_name", "seller_tax_id", "buyer_name", "buyer_tax_id")

# file -> every field as printed on the invoice (read by people from the file), and the check tuple
EXPECTED: dict[str, tuple[dict[str, str], tuple[str, str, str, str]]] = {
    "sd-template-tags-1.ofd": (
        {
            "fplx": "31",
            "invoice_number": "24112000000048542163",
            "issue_date": "2024-05-28",
            "amount": "4197.17",
            "tax": "251.83",
            "total": "4449.00",
            "seller_name": "北京互联三六五科技有限公司",
            "seller_tax_id": "91110108690017781B",
            "buyer_name": "海南麒麟云服科技有限公司",
            "buyer_tax_id": "91460300MAA92DJN95",
        },
        ("", "24112000000048542163", "2024-05-28", "4449.00"),
    ),
    "sd-template-tags-2.ofd": (
        {
            "fplx": "31",
            "invoice_number": "25442000000127444519",
            "issue_date": "2025-03-07",
            "amount": "20000.00",
            "tax": "1800.00",
            "total": "21800.00",
            "seller_name": "中移建设有限公司广东分公司",
            "seller_tax_id": "914400007556190127",
            "buyer_name": "中国移动通信集团广东有限公司阳江分公司",
            "buyer_tax_id": "91441702707782974C",
        },
        ("", "25442000000127444519", "2025-03-07", "21800.00"),
    ),
    "sd-page-labels-tags.ofd": (
        {
            "fplx": "31",
            "invoice_number": "25924000000001260164",
            "issue_date": "2025-04-01",
            "amount": "357.55",
            "tax": "21.45",
            "total": "379.00",
            "seller_name": "青岛嘉仕汇酒店管理有限公司",
            "seller_tax_id": "91370203MA3N3AR685",
            "buyer_name": "威高集团有限公司",
            "buyer_tax_id": "913710007062495888",
        },
        ("", "25924000000001260164", "2025-04-01", "379.00"),
    ),
    "sd-converted-no-tags.ofd": (
        {
            "fplx": "32",
            "invoice_number": "23512000000058396237",
            "issue_date": "2023-07-07",
            "amount": "1455.45",
            "tax": "14.55",
            "total": "1470.00",
            "seller_name": "武侯区极客火锅店",
            "seller_tax_id": "92510107MA634W4K90",
            "buyer_name": "中国移动通信集团四川有限公司成都分公司",
            "buyer_tax_id": "91510000765055994P",
        },
        ("", "23512000000058396237", "2023-07-07", "1470.00"),
    ),
    "sd-spaced-text.pdf": (
        {
            "fplx": "31",
            "invoice_number": "23512000000005197325",
            "issue_date": "2023-01-30",
            "amount": "2129.34",
            "tax": "21.29",
            "total": "2150.63",
            "seller_name": "郫都区星讯通讯设备经营部",
            "seller_tax_id": "92510124MA6B1BBY1G",
            "buyer_name": "中国移动通信集团四川有限公司成都分公司",
            "buyer_tax_id": "91510000765055994P",
        },
        ("", "23512000000005197325", "2023-01-30", "2150.63"),
    ),
    "baiwang-base64-qr.ofd": (
        {
            "fplx": "10",
            "invoice_code": "011002680026",
            "invoice_number": "71500013",
            "issue_date": "2020-02-20",
            "amount": "9709.00",
            "tax": "291.00",
            "total": "10000.00",
            "check_code": "03272875819686271285",
            "seller_name": "ukey测试",
            "seller_tax_id": "91110101202001201",
            "buyer_name": "百望股份有限公司",
            "buyer_tax_id": "91110108339805094M",
        },
        ("011002680026", "71500013", "2020-02-20", "271285"),
    ),
    "older-attachment.ofd": (
        {
            "fplx": "10",
            "invoice_code": "050001700111",
            "invoice_number": "99999951",
            "issue_date": "2020-10-10",
            "amount": "300.00",
            "tax": "18.00",
            "total": "318.00",
            "check_code": "14754822929856772523",
            "seller_name": "杭州融易算企业管理咨询有限公司",
            "seller_tax_id": "91500106MA2CE71F65",
            "buyer_name": "科游迈利有限公司",
            "buyer_tax_id": "9150010807MGZHI002",
        },
        ("050001700111", "99999951", "2020-10-10", "772523"),
    ),
}


def _check(name: str, data: bytes) -> tuple[str, str, str, str]:
    fields = check_fields(read_document(name, data))
    fourth = f"{fields.amount:.2f}" if fields.amount is not None else fields.check_code or ""
    return fields.invoice_code, fields.invoice_number, fields.issue_date.isoformat(), fourth


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_invoice_every_field_and_the_check(name: str) -> None:
    data = (REAL / name).read_bytes()
    extraction = read_document(name, data)
    fields, check = EXPECTED[name]
    assert {n: f.value for n, f in extraction.fields.items()} == fields
    assert not extraction.disagreements and extraction.confidence == 1.0
    assert extraction.fields["invoice_number"].source in (Source.QR, Source.XML)  # the QR code was read
    assert _check(name, data) == check


def test_real_base64_graph_code_is_decoded_as_the_qr_source() -> None:
    extraction = read_document("b.ofd", (REAL / "baiwang-base64-qr.ofd").read_bytes())
    assert Source.QR in extraction.fields["check_code"].also_in


@pytest.mark.parametrize("fplx", ["31", "32"])
def test_digital_ofd_template_tags_and_image_qr(fplx: str) -> None:
    invoice = INVOICES[fplx]
    extraction = read_document("a.ofd", digital_ofd(invoice))
    expected = {
        "fplx": fplx,
        "invoice_number": invoice.invoice_number,
        "issue_date": invoice.issue_date.isoformat(),
        "amount": f"{invoice.amount:.2f}",
        "tax": f"{invoice.tax:.2f}",
        "total": f"{invoice.total:.2f}",
        "seller_name": invoice.seller.name,
        "seller_tax_id": invoice.seller.tax_id,
        "buyer_name": invoice.buyer.name,
        "buyer_tax_id": invoice.buyer.tax_id,
    }
    assert {n: f.value for n, f in extraction.fields.items()} == expected
    number = extraction.fields["invoice_number"]
    assert number.source is Source.QR and set(number.also_in) == {Source.TAGS, Source.TEXT}
    assert extraction.fields["buyer_name"].source is Source.TAGS  # the field map names the object
    assert Source.TEXT in extraction.fields["buyer_name"].also_in  # and the label beside it agrees


def test_digital_ofd_whose_printed_total_contradicts_its_qr_is_refused_for_a_check() -> None:
    invoice = INVOICES["31"]
    extraction = read_document("edited.ofd", digital_ofd(invoice, printed_total="1.00"))
    assert [d.field for d in extraction.disagreements] == ["total"]
    with pytest.raises(DocumentError) as refused:
        check_fields(extraction)
    assert refused.value.code == "fields_disagree"


def test_digital_ofd_with_a_broken_field_map_is_read_from_its_text_and_qr() -> None:
    """A real package carried `<:eInvoice xmlns:="">` as its CustomTag.xml: not well-formed, skipped."""
    ofd = with_member(digital_ofd(INVOICES["32"]), "Doc_0/Tags/CustomTag.xml", b'<:eInvoice xmlns:="">')
    extraction = read_document("a.ofd", ofd)
    assert extraction.value("buyer_name") == INVOICES["32"].buyer.name
    assert extraction.fields["buyer_name"].source is Source.TEXT


def _refusal(name: str, data: bytes) -> str:
    with pytest.raises(DocumentError) as refused:
        read_document(name, data)
    assert refused.value.message_zh and refused.value.message_en
    return refused.value.code


def test_digital_ofd_with_a_dtd_in_its_field_map_is_still_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aa">]><root>&a;</root>'
    ofd = with_member(digital_ofd(INVOICES["32"]), "Doc_0/Tags/CustomTag.xml", bomb)
    assert _refusal("a.ofd", ofd) == "xml_forbidden"


def test_digital_ofd_whose_qr_code_is_drawn_as_paths() -> None:
    invoice = INVOICES["32"]
    extraction = read_document("v.ofd", vector_qr_ofd(invoice))
    number = extraction.fields["invoice_number"]
    assert number.source is Source.QR and number.confidence == 1.0
    assert check_fields(extraction).amount == invoice.total


def test_image_only_ofd_is_read_from_its_qr_code() -> None:
    invoice = INVOICES["32"]
    extraction = read_document("scan.ofd", image_only_ofd(invoice))
    assert {f.source for f in extraction.fields.values()} == {Source.QR}
    assert extraction.value("invoice_number") == invoice.invoice_number
    assert check_fields(extraction).amount == invoice.total


def test_image_qr_of_a_decompression_bomb_is_not_decoded() -> None:
    out = io.BytesIO()
    Image.new("1", (5000, 5000)).save(out, "PNG")  # 25 Mpx declared, a few KB compressed
    assert MAX_IMAGE_PIXELS < 5000 * 5000
    started = time.monotonic()
    assert scan_image_bytes(out.getvalue()).texts == ()
    assert time.monotonic() - started < 1.0
    ofd = with_member(image_only_ofd(INVOICES["32"]), "Doc_0/Res/Image_0.jpg", out.getvalue())
    assert _refusal("bomb.ofd", ofd) == "ofd_unreadable"


def test_pdf_whose_cjk_font_lost_its_tounicode_keeps_only_what_ascii_says() -> None:
    invoice = INVOICES["32"]
    extraction = read_document("old.pdf", broken_cjk_pdf(invoice))
    assert "cjk_unreadable" in [n.code for n in extraction.notes]
    assert not any(name.endswith("_name") for name in extraction.fields)  # never a wrong name
    assert extraction.value("invoice_number") == invoice.invoice_number
    assert extraction.value("total") == f"{invoice.total:.2f}"
    assert extraction.value("amount") == f"{invoice.amount:.2f}"
    assert extraction.value("tax") == f"{invoice.tax:.2f}"
    assert extraction.value("buyer_tax_id") == invoice.buyer.tax_id
    assert extraction.value("seller_tax_id") == invoice.seller.tax_id
    for name in ("amount", "tax", "buyer_tax_id", "seller_tax_id"):
        assert extraction.fields[name].source is Source.SHAPE and extraction.fields[name].confidence == 0.5
    assert check_fields(extraction).amount == invoice.total


def _letter_ofd() -> bytes:
    """An OFD letter: text, no invoice data, no QR code (as ofdrw's hello-world samples)."""
    ofd = digital_ofd(INVOICES["32"])
    with zipfile.ZipFile(io.BytesIO(ofd)) as archive:
        members = {n: archive.read(n) for n in archive.namelist() if "Tags" not in n and "Res/" not in n}
    members["Doc_0/Tpls/Tpl_0/Content.xml"] = (
        '<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer ID="2">'
        '<ofd:TextObject ID="9" Boundary="10 10 100 5" Size="4"><ofd:TextCode X="0" Y="4">'
        "会议通知: 请于周五参加会议</ofd:TextCode></ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>"
    ).encode()
    members["Doc_0/Pages/Page_0/Content.xml"] = (
        b'<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Template TemplateID="1"/></ofd:Page>'
    )
    members["OFD.xml"] = members["OFD.xml"].split(b"<ofd:CustomDatas>")[0] + (
        b"</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    from fapiao.demo.documents import zip_bytes

    return zip_bytes(members)


def test_a_garbled_pdf_without_a_qr_code_is_unreadable_not_a_non_invoice() -> None:
    assert _refusal("old.pdf", broken_cjk_pdf(INVOICES["32"], qr=None)) == "pdf_unreadable"


@pytest.mark.parametrize(
    ("name", "build"),
    [("receipt.pdf", bank_receipt_pdf), ("letter.ofd", _letter_ofd)],
    ids=["bank receipt PDF", "OFD letter"],
)
def test_not_an_invoice_is_refused(name: str, build: Callable[[], bytes]) -> None:
    assert _refusal(name, build()) == "not_an_invoice"


def test_pdf_with_a_14400_pt_page_is_refused_at_once() -> None:
    started = time.monotonic()
    assert _refusal("big.pdf", big_page_pdf()) == "pdf_page_too_large"
    assert time.monotonic() - started < 2.0  # it took 36 s and 2.5 GiB when the page was rendered


def test_evenly_spaced_characters_become_words() -> None:
    pieces = [Piece(10.0 + 5 * i, 20.0, 2.0, 2.0, c) for i, c in enumerate("名称：中国移动")]
    pieces += [Piece(80.0 + 5 * i, 20.2, 2.0, 2.0, c) for i, c in enumerate("名称：郫都区")]
    pieces.append(Piece(10.0, 30.0, 2.0, 2.0, "下"))
    assert lines(pieces) == ["名称：中国移动 名称：郫都区", "下"]


def test_positioned_label_and_value_share_a_line() -> None:
    template = Piece(154.0, 14.02, 0.0, 3.175, "发票号码：")
    value = Piece(170.0, 13.94, 0.0, 3.175, "24112000000048542163")
    assert lines([value, template]) == ["发票号码： 24112000000048542163"]


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("中国移动通信集团四川有限公司成都分公司", "中国移动通信集团四川有限公司成都分公司"),
        ("北京XXX（集团）公司", "北京XXX(集团)公司"),
        ("密", None),  # what a broken ToUnicode map made of a seller's name
        ("销", None),
        ("名称：", None),
        ("\ue000\ue001公司", None),  # private-use characters
        ("", None),
    ],
)
def test_party_names_that_cannot_be_names_are_not_read(value: str, name: str | None) -> None:
    assert party_name(value) == name


def test_kangxi_radicals_and_single_character_names_from_printed_text() -> None:
    text = "电⼦发票（普通发票）\n发票号码：23512000000058396237\n名称：密 名称：销\n开票⽇期：2023年07月07日"
    found = fields_from_text(text)
    assert found["fplx"] == "32" and found["invoice_number"] == "23512000000058396237"
    assert "buyer_name" not in found and "seller_name" not in found


def test_a_longer_digit_run_is_not_cut_into_an_invoice_number() -> None:
    assert "invoice_number" not in fields_from_text("发票号码：9223372036854775807")


def test_cjk_readability_by_the_labels_every_invoice_prints() -> None:
    assert cjk_readable("发票号码：1\n开票日期：2\n名称：甲\n合计")
    assert not cjk_readable("(cid:3)(cid:4)(cid:7)(cid:8)(cid:9)26112000282966121319\n¥ ¦1179.05")
    broken = (  # the first lines of broken_cjk_pdf's text layer
        "(cid:1)(cid:2)(cid:3)(cid:4)((cid:5)(cid:6)(cid:3)(cid:4))\n(cid:3)(cid:4)(cid:7)(cid:8)(cid:9)"
        "26112000282966121319\n(cid:10)(cid:4)(cid:11)(cid:12)(cid:9)2026(cid:13)09(cid:14)22(cid:11)\n"
        "(cid:22)(cid:23)(cid:9)(cid:24)(cid:25)(cid:26)(cid:27)(cid:28)(cid:29)(cid:30)(cid:31)€(cid:129)‚ƒ"
    )
    assert garbled(broken)
    assert not garbled("电子回单号码：0011-2233-4455-6677\n付款人 户名：北京澜亭建筑设计有限公司")


def test_fields_by_shape_need_valid_tax_ids_and_amounts_that_add_up() -> None:
    text = (
        "x 26112000282966121319 y\n91110116449330317X 9211010881120308X4 911101164493303170\n"
        "1179.05 11.79 1190.84 3.50"
    )
    assert fields_by_shape(text, {"total": "1190.84"}) == {
        "invoice_number": "26112000282966121319",
        "buyer_tax_id": "91110116449330317X",
        "seller_tax_id": "9211010881120308X4",
        "amount": "1179.05",
        "tax": "11.79",
        "total": "1190.84",
    }
    # two 20-digit runs (an older invoice's check code beside its number): neither is taken
    assert "invoice_number" not in fields_by_shape("12345678901234567890 09876543210987654321")
    # a QR total that no pair adds up to: no amounts guessed
    assert "amount" not in fields_by_shape("1179.05 11.79 1190.84", {"total": "9.99"})


def test_qr_strings_with_blank_fields_as_real_digital_invoices_print_them() -> None:
    invoice = INVOICES["31"]
    blank = qr_text(invoice).replace(",,", ", ,")
    assert blank != qr_text(invoice)
    ofd = digital_ofd(invoice, qr=blank)
    assert read_document("a.ofd", ofd).fields["invoice_number"].source is Source.QR


def test_path_drawing_is_bounded() -> None:
    square = DrawnPath((((0.0, 0.0), (1.0, 0.0), (1.0, 1.0)),), True, False, 0.3, 0)
    assert render([square], 210, 140) is not None
    assert render([square], 14_400 / 2.83, 140) is None  # a page too large to draw
    assert render([square] * (MAX_PATHS + 1), 210, 140) is None  # too many objects


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        # found by mutating the real files: each raised an exception that was not a DocumentError
        ("a.xml", b'<?xml version="1.0" encoding="UNaN-8"?><EInvoice/>', "xml_malformed"),
        (
            "a.pdf",
            pdf_bytes([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 2 >>"]),
            "pdf_unreadable",
        ),
    ],
    ids=["unknown XML encoding", "page count that lies"],
)
def test_damage_found_by_mutation_is_a_document_error(name: str, data: bytes, code: str) -> None:
    assert _refusal(name, data) == code
