"""Invoice documents in the layouts real issuers use, generated from demo invoices (tests/fixtures/real
holds the real files these reproduce; see its README).

- `digital_ofd`: a 数电 OFD as the 税务数字账户 (Suwell) writes it: labels on a template page
  (`Doc_0/Tpls/Tpl_0/Content.xml`), bare values as text objects on the page, the field map in
  `Doc_0/Tags/CustomTag.xml` (indexed by `CustomTags.xml`), some fields again in `DocInfo/CustomDatas`,
  the QR code a PNG under `Doc_0/Res/` drawn by an ImageObject, no invoice XML attached.
- `image_only_ofd`: an OFD that is one page image (the face rendered, QR code included).
- `vector_qr_ofd`: the 数电 OFD with its QR code drawn as path objects instead of an image.
- `bank_receipt_pdf`: a bank's 电子回单 with payer and payee names: not an invoice.
- `broken_cjk_pdf`: an invoice PDF whose CJK font lost its ToUnicode map (ASCII digits still right).
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from fapiao.demo.documents import _qr_image, invoice_pdf, qr_text, zip_bytes
from schemas.events import InvoiceIssued

NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'
# label, boundary x, y (mm) on the template page, where the real template prints them (TextCode Y 3.0163)
_TEMPLATE = [
    ("发票号码：", 154, 11),
    ("开票日期：", 154, 17),
    ("名称：", 11, 33.5),
    ("名称：", 111.5, 33.5),
    ("统一社会信用代码/纳税人识别号：", 11, 44),
    ("统一社会信用代码/纳税人识别号：", 111.5, 44),
    ("项目名称", 15.5, 53),
    ("合", 20, 92),
    ("计", 36, 92),
    ("价税合计（大写）", 16.4068, 98.5),
    ("（小写）", 143, 98.5),
]
_TITLES = {"31": "电子发票（增值税专用发票）", "32": "电子发票（普通发票）"}


def _text_object(object_id: int, x: float, y: float, text: str, code_y: float = 3.0163) -> str:
    return (
        f'<ofd:TextObject ID="{object_id}" Boundary="{x} {y} 80 5" Font="1" Size="3.175">'
        f'<ofd:TextCode X="0" Y="{code_y}">{escape(text)}</ofd:TextCode></ofd:TextObject>'
    )


def digital_ofd(invoice: InvoiceIssued, *, qr: str | None = None, printed_total: str | None = None) -> bytes:
    """The 数电 invoice (31 or 32) as a Suwell-style OFD. `qr` prints another QR string; `printed_total`
    prints another 价税合计 on the page (an edited face)."""
    amount = f"{invoice.amount:.2f}"
    # object id, boundary x, y, TextCode Y, text, CustomTag element: where the real page prints them
    values = [
        (101, 170, 10.3, 3.6414, invoice.invoice_number, "InvoiceNo"),
        (102, 170, 16.4, 3.6414, f"{invoice.issue_date:%Y年%m月%d日}", "IssueDate"),
        (103, 20, 33.8, 2.7273, invoice.buyer.name, "BuyerName"),
        (104, 54, 43.3, 3.7726, invoice.buyer.tax_id or "", "BuyerTaxID"),
        (105, 120, 33.8, 2.7273, invoice.seller.name, "SellerName"),
        (106, 154.5, 43.3, 3.7726, invoice.seller.tax_id or "", "SellerTaxID"),
        (107, 127.5, 90.5, 4.1288, "¥", "TaxExclusiveTotalAmount"),
        (108, 130, 90.5, 4.1288, amount, "TaxExclusiveTotalAmount"),
        (109, 179.5, 90.5, 4.1288, "¥", "TaxTotalAmount"),
        (110, 182, 90.5, 4.1288, f"{invoice.tax:.2f}", "TaxTotalAmount"),
        (111, 155.5, 96.0681, 4.9221, "¥", "TaxInclusiveTotalAmount"),
        (112, 158, 96.0681, 4.9221, printed_total or f"{invoice.total:.2f}", "TaxInclusiveTotalAmount"),
    ]
    labels = [(_TITLES[invoice.fplx], 56, 8), *_TEMPLATE]
    template = "".join(_text_object(10 + i, x, y, label) for i, (label, x, y) in enumerate(labels))
    page = "".join(_text_object(i, x, y, text, code_y) for i, x, y, code_y, text, _ in values if text)
    image = '<ofd:ImageObject ID="120" CTM="20 0 0 20 0 0" Boundary="6.5 6 20 20" ResourceID="119"/>'
    tags: dict[str, list[int]] = {}
    for object_id, _, _, _, text, tag in values:
        if text:
            tags.setdefault(tag, []).append(object_id)
    refs = {
        tag: "".join(f'<ofd:ObjectRef PageRef="61">{i}</ofd:ObjectRef>' for i in ids)
        for tag, ids in tags.items()
    }
    custom_tag = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:root {NS} version="1.0">'
        f"<ofd:InvoiceNo>{refs['InvoiceNo']}</ofd:InvoiceNo><ofd:IssueDate>{refs['IssueDate']}</ofd:IssueDate>"
        f"<ofd:Buyer><ofd:BuyerName>{refs['BuyerName']}</ofd:BuyerName>"
        f"<ofd:BuyerTaxID>{refs.get('BuyerTaxID', '')}</ofd:BuyerTaxID></ofd:Buyer>"
        f"<ofd:Seller><ofd:SellerName>{refs['SellerName']}</ofd:SellerName>"
        f"<ofd:SellerTaxID>{refs['SellerTaxID']}</ofd:SellerTaxID></ofd:Seller>"
        + "".join(
            f"<ofd:{t}>{refs[t]}</ofd:{t}>"
            for t in ("TaxExclusiveTotalAmount", "TaxTotalAmount", "TaxInclusiveTotalAmount")
        )
        + "</ofd:root>"
    )
    data = {
        "发票号码": invoice.invoice_number,
        "合计金额": amount,
        "合计税额": f"{invoice.tax:.2f}",
        "开票日期": f"{invoice.issue_date:%Y年%m月%d日}",
        "销售方纳税人识别号": invoice.seller.tax_id or "",
    }
    custom_datas = "".join(
        f'<ofd:CustomData Name="{k}">{escape(v)}</ofd:CustomData>' for k, v in data.items()
    )
    qr_png = io.BytesIO()
    _qr_image(qr or qr_text(invoice)).save(qr_png, "PNG")
    files = {
        "OFD.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {NS} DocType="OFD" Version="1.0"><ofd:DocBody>'
            f"<ofd:DocInfo><ofd:DocID>{invoice.event_id.hex}</ofd:DocID><ofd:Author>China Tax</ofd:Author>"
            f"<ofd:Creator>Suwell</ofd:Creator><ofd:CustomDatas>{custom_datas}</ofd:CustomDatas></ofd:DocInfo>"
            "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
        ),
        "Doc_0/Document.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {NS}><ofd:CommonData>'
            "<ofd:MaxUnitID>130</ofd:MaxUnitID><ofd:PublicRes>PublicRes.xml</ofd:PublicRes>"
            '<ofd:TemplatePage ID="1" BaseLoc="Tpls/Tpl_0/Content.xml"/>'
            "<ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes></ofd:CommonData>"
            '<ofd:Pages><ofd:Page ID="61" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
            "<ofd:CustomTags>Tags/CustomTags.xml</ofd:CustomTags></ofd:Document>"
        ),
        "Doc_0/PublicRes.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {NS} BaseLoc="Res"><ofd:Fonts>'
            '<ofd:Font ID="1" FontName="楷体" FamilyName="楷体"/></ofd:Fonts></ofd:Res>'
        ),
        "Doc_0/DocumentRes.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {NS} BaseLoc="Res"><ofd:MultiMedias>'
            '<ofd:MultiMedia ID="119" Type="Image"><ofd:MediaFile>image_119.png</ofd:MediaFile>'
            "</ofd:MultiMedia></ofd:MultiMedias></ofd:Res>"
        ),
        "Doc_0/Tpls/Tpl_0/Content.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {NS}><ofd:Area><ofd:PhysicalBox>0 0 210 140'
            f'</ofd:PhysicalBox></ofd:Area><ofd:Content><ofd:Layer ID="2">{template}</ofd:Layer>'
            "</ofd:Content></ofd:Page>"
        ),
        "Doc_0/Pages/Page_0/Content.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {NS}><ofd:Area><ofd:PhysicalBox>0 0 210 140'
            '</ofd:PhysicalBox></ofd:Area><ofd:Template TemplateID="1" ZOrder="Background"/>'
            f'<ofd:Content><ofd:Layer ID="130">{page}{image}</ofd:Layer></ofd:Content></ofd:Page>'
        ),
        "Doc_0/Tags/CustomTags.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:CustomTags {NS}><ofd:CustomTag TypeID="root">'
            "<ofd:FileLoc>CustomTag.xml</ofd:FileLoc></ofd:CustomTag></ofd:CustomTags>"
        ),
        "Doc_0/Tags/CustomTag.xml": custom_tag,
    }
    members = {name: text.encode("utf-8") for name, text in files.items()}
    members["Doc_0/Res/image_119.png"] = qr_png.getvalue()
    return zip_bytes(members)


def image_only_ofd(invoice: InvoiceIssued) -> bytes:
    """An OFD whose one page is a JPEG of the printed face (no text objects), QR code included."""
    import pypdfium2

    rendered = pypdfium2.PdfDocument(invoice_pdf(invoice))
    image = rendered[0].render(scale=2.5).to_pil().convert("L")
    rendered.close()
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG", quality=90)
    files = {
        "OFD.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {NS} DocType="OFD" Version="1.1"><ofd:DocBody>'
            "<ofd:DocInfo><ofd:DocID>scan</ofd:DocID></ofd:DocInfo>"
            "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
        ),
        "Doc_0/Document.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {NS}><ofd:CommonData>'
            "<ofd:MaxUnitID>5</ofd:MaxUnitID><ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>"
            '</ofd:CommonData><ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/>'
            "</ofd:Pages></ofd:Document>"
        ),
        "Doc_0/DocumentRes.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {NS} BaseLoc="Res"><ofd:MultiMedias>'
            '<ofd:MultiMedia ID="3" Type="Image"><ofd:MediaFile>Image_0.jpg</ofd:MediaFile>'
            "</ofd:MultiMedia></ofd:MultiMedias></ofd:Res>"
        ),
        "Doc_0/Pages/Page_0/Content.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {NS}><ofd:Area><ofd:PhysicalBox>0 0 240 140'
            '</ofd:PhysicalBox></ofd:Area><ofd:Content><ofd:Layer ID="4"><ofd:ImageObject ID="5" '
            'CTM="240 0 0 140 0 0" Boundary="0 0 240 140" ResourceID="3"/></ofd:Layer></ofd:Content>'
            "</ofd:Page>"
        ),
    }
    members = {name: text.encode("utf-8") for name, text in files.items()}
    members["Doc_0/Res/Image_0.jpg"] = jpeg.getvalue()
    return zip_bytes(members)


def with_member(ofd: bytes, name: str, data: bytes) -> bytes:
    """The OFD with one member replaced (or added)."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(ofd)) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members[name] = data
    return zip_bytes(members)


def bank_receipt_pdf() -> bytes:
    """A bank's electronic receipt (电子回单): payer, payee, amount, a serial number; no 发票 anywhere."""
    from reportlab.pdfgen import canvas

    from fapiao.demo.documents import _font

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(595, 420), invariant=1)
    font = _font()
    lines = [
        "中国工商银行 网上银行电子回单",
        "电子回单号码：0011-2233-4455-6677",
        "付款人 户名：北京澜亭建筑设计有限公司  账号：6222020200112233445",
        "收款人 户名：北京市海淀区五道口麦香烘焙坊  账号：6222020200998877665",
        "金额：¥1,190.84  人民币（大写）壹仟壹佰玖拾圆捌角肆分",
        "用途：货款  交易时间：2026-09-22 10:21:05",
    ]
    for i, line in enumerate(lines):
        pdf.setFont(font, 11)
        pdf.drawString(40, 380 - i * 24, line)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def broken_cjk_pdf(invoice: InvoiceIssued, *, qr: str | None = "auto") -> bytes:
    """The demo PDF with its font's /ToUnicode map switched off (same length, so the xref stays right):
    CJK comes out as unrelated characters, ASCII digits stay right, as in older real PDFs."""
    data = invoice_pdf(invoice, qr=qr)
    assert data.count(b"/ToUnicode") == 1
    return data.replace(b"/ToUnicode", b"/ToUnicodX")


def vector_qr_ofd(invoice: InvoiceIssued) -> bytes:
    """The 数电 OFD with its QR code drawn as path objects (one filled square per dark module, in the
    page's millimetres) instead of an image."""
    import qrcode

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(qr_text(invoice))
    modules = code.get_matrix()
    size = 20.0 / len(modules)  # a 20 mm QR code at (6.5, 6), where the real page draws its image
    squares = "".join(
        f'<ofd:PathObject ID="{900 + r * len(row) + c}" Boundary="{6.5 + c * size:.3f} {6 + r * size:.3f} '
        f'{size:.3f} {size:.3f}" Fill="true" Stroke="false"><ofd:FillColor Value="0 0 0"/>'
        f"<ofd:AbbreviatedData>M 0 0 L {size:.3f} 0 L {size:.3f} {size:.3f} L 0 {size:.3f} C"
        "</ofd:AbbreviatedData></ofd:PathObject>"
        for r, row in enumerate(modules)
        for c, dark in enumerate(row)
        if dark
    )
    ofd = digital_ofd(invoice)
    page = _member(ofd, "Doc_0/Pages/Page_0/Content.xml").decode("utf-8")
    image = '<ofd:ImageObject ID="120" CTM="20 0 0 20 0 0" Boundary="6.5 6 20 20" ResourceID="119"/>'
    return with_member(ofd, "Doc_0/Pages/Page_0/Content.xml", page.replace(image, squares).encode("utf-8"))


def _member(ofd: bytes, name: str) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(ofd)) as archive:
        return archive.read(name)
