"""Realistic e-invoice documents of demo invoices: PDF (CJK text layer + a real QR code), OFD, 数电 XML.

For tests and benchmarks: every document is made from an `InvoiceIssued` of the demo feed, so what a
reader extracts can be compared with what was issued. Broken variants (encrypted, image-only, damaged
QR code, no QR code) are options of the same builders. Needs the dev extras (reportlab, qrcode) and a
TrueType CJK font (`make tools` installs one).
"""

from __future__ import annotations

import hashlib
import io
import random
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from fapiao.demo.generator import DemoFeed
from fapiao.domain.invoice_codes import make_invoice_code
from fapiao.domain.invoice_numbers import make_digital_number
from fapiao.domain.invoice_types import INVOICE_TYPES, invoice_type
from fapiao.domain.qr_payload import QrPayload, format_qr_payload
from schemas.events import InvoiceIssued

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
_FONT = "InvoiceCJK"
_PAGE = (240 * 72 / 25.4, 140 * 72 / 25.4)  # 240 x 140 mm, the e-invoice paper size
_DIGITS_ZH = "零壹贰叁肆伍陆柒捌玖"
_UNITS_ZH = ("", "拾", "佰", "仟")
_SECTIONS_ZH = ("", "万", "亿")


def sample_invoices(seed: int = 7) -> dict[str, InvoiceIssued]:
    """One demo invoice of every type in INVOICE_TYPES (02, 51 and 61 derived from an 01 and a 32)."""
    feed = DemoFeed(seed, datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    found: dict[str, InvoiceIssued] = {}
    for event in feed.issue(600):
        invoice = event.value
        assert isinstance(invoice, InvoiceIssued)
        found.setdefault(invoice.fplx, invoice)
    rng = random.Random(seed)
    year = found["01"].issue_date.year
    found["02"] = found["01"].model_copy(
        update={"fplx": "02", "invoice_code": make_invoice_code("02", "1100", year, rng)}
    )
    for fplx in ("51", "61"):
        number = make_digital_number(year, "11", rng)
        found[fplx] = found["32"].model_copy(update={"fplx": fplx, "invoice_number": number})
    missing = set(INVOICE_TYPES) - set(found)
    if missing:
        raise RuntimeError(f"the demo feed issued no invoice of type {sorted(missing)}")
    return {fplx: found[fplx] for fplx in sorted(found)}


def qr_text(invoice: InvoiceIssued) -> str:
    """The QR string printed on the invoice (DOMAIN §3): 数电 carry 价税合计, older types 不含税金额."""
    digital = invoice_type(invoice.fplx).digital
    digest = hashlib.sha256(invoice.model_dump_json().encode()).hexdigest()[:4].upper()
    return format_qr_payload(
        QrPayload(
            fplx=invoice.fplx,
            invoice_code=invoice.invoice_code,
            invoice_number=invoice.invoice_number,
            amount=invoice.total if digital else invoice.amount,
            amount_field=invoice_type(invoice.fplx).fourth_field,
            issue_date=invoice.issue_date,
            check_code=invoice.check_code,
            digest=digest,
        )
    )


def amount_in_words(value: Decimal) -> str:
    """价税合计(大写): 1234.50 -> 壹仟贰佰叁拾肆圆伍角整."""
    cents = int((abs(value) * 100).to_integral_value())
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    words = _integer_words(yuan) + "圆" if yuan else ""
    if jiao:
        words += _DIGITS_ZH[jiao] + "角"
    elif yuan and fen:
        words += "零"
    words += _DIGITS_ZH[fen] + "分" if fen else "整"
    return ("负" if value < 0 else "") + (words or "零圆整")


def _integer_words(n: int) -> str:
    groups: list[str] = []
    section = 0
    pending_zero = False
    while n:
        n, part = divmod(n, 10000)
        text = ""
        zero = False
        for i in range(3, -1, -1):
            digit = part // 10**i % 10
            if digit:
                if zero and text:
                    text += "零"
                text += _DIGITS_ZH[digit] + _UNITS_ZH[i]
                zero = False
            else:
                zero = True
        if text:
            suffix = _SECTIONS_ZH[section] if section < len(_SECTIONS_ZH) else ""
            joiner = "零" if pending_zero and groups else ""
            groups.insert(0, text + suffix + joiner)
        pending_zero = part < 1000
        section += 1
    return "".join(groups)


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if _FONT not in pdfmetrics.getRegisteredFontNames():
        path = next((p for p in FONT_CANDIDATES if p.exists()), None)
        if path is None:
            raise RuntimeError("no TrueType CJK font found; run `make tools` (fonts-wqy-microhei)")
        pdfmetrics.registerFont(TTFont(_FONT, str(path), subfontIndex=0))
    return _FONT


def _qr_image(text: str, *, damaged: bool = False):  # type: ignore[no-untyped-def]
    import qrcode
    from PIL import ImageDraw

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    code.add_data(text)
    image = code.make_image(fill_color="black", back_color="white").get_image().convert("L")
    if damaged:
        # keep the three finder patterns, wipe most of the data: seen as a QR code, not decodable
        width, height = image.size
        ImageDraw.Draw(image).rectangle((width * 0.35, height * 0.3, width * 0.85, height * 0.85), fill=255)
    return image


def face_lines(invoice: InvoiceIssued) -> list[tuple[float, float, str, float]]:
    """What is printed where: (x mm, y mm from the top, text, size pt)."""
    kind = invoice_type(invoice.fplx)
    digital = kind.digital
    title = kind.name_zh if digital else f"北京{kind.name_zh}"
    day = invoice.issue_date
    lines: list[tuple[float, float, str, float]] = [(70, 14, title, 16)]
    if invoice.invoice_code:
        lines.append((160, 12, f"发票代码：{invoice.invoice_code}", 9))
    lines += [
        (160, 18, f"发票号码：{invoice.invoice_number}", 9),
        (160, 24, f"开票日期：{day.year}年{day.month:02d}月{day.day:02d}日", 9),
    ]
    if invoice.check_code:
        code = invoice.check_code
        lines.append((160, 30, "校验码：" + " ".join(code[i : i + 5] for i in range(0, 20, 5)), 9))
    buyer, seller = invoice.buyer, invoice.seller
    id_label = "统一社会信用代码/纳税人识别号：" if digital else "纳税人识别号："
    if digital:  # buyer and seller side by side
        lines += [
            (12, 42, "购买方信息", 9),
            (125, 42, "销售方信息", 9),
            (12, 48, f"名称：{buyer.name}", 9),
            (125, 48, f"名称：{seller.name}", 9),
            (12, 54, f"{id_label}{buyer.tax_id or ''}", 8),
            (125, 54, f"{id_label}{seller.tax_id or ''}", 8),
        ]
    else:
        lines += [
            (12, 42, "购买方", 9),
            (30, 42, f"名称：{buyer.name}", 9),
            (30, 48, f"{id_label}{buyer.tax_id or ''}", 9),
        ]
    lines.append((12, 62, "项目名称            金额        税率      税额", 9))
    y = 68.0
    for line in invoice.lines[:6]:
        rate = f"{line.tax_rate * 100:.0f}%" if line.tax_rate else "免税"
        lines.append((12, y, f"{line.item}    {line.amount:.2f}    {rate}    {line.tax:.2f}", 8))
        y += 5
    lines += [
        (12, 100, f"合 计          ¥{invoice.amount:.2f}     ¥{invoice.tax:.2f}", 9),
        (12, 107, f"价税合计（大写）  {amount_in_words(invoice.total)}      （小写）¥{invoice.total:.2f}", 9),
    ]
    if not digital:
        lines += [
            (12, 115, "销售方", 9),
            (30, 115, f"名称：{seller.name}", 9),
            (30, 121, f"{id_label}{seller.tax_id or ''}", 9),
        ]
    if invoice.remarks:
        lines.append((12, 128, f"备注：{invoice.remarks[:60]}", 7))
    lines.append((12, 134, "开票人：王芳", 8))
    return lines


def invoice_pdf(
    invoice: InvoiceIssued,
    *,
    qr: str | None = "auto",
    damaged_qr: bool = False,
    text: bool = True,
    password: str | None = None,
) -> bytes:
    """The invoice as a PDF. `qr=None` leaves the QR code out; `qr="auto"` prints the invoice's own,
    any other string prints that; `text=False` draws the face as an image (a scan, no text layer)."""
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    if not text:
        return _scanned(invoice, qr=qr, damaged_qr=damaged_qr)
    out = io.BytesIO()
    encrypt = StandardEncryption(password, ownerPassword=password + "-owner") if password else None
    pdf = canvas.Canvas(out, pagesize=_PAGE, encrypt=encrypt, invariant=1)
    pdf.setTitle(f"{invoice_type(invoice.fplx).name_zh} {invoice.invoice_number}")
    font = _font()
    height = _PAGE[1]
    for x, y, line, size in face_lines(invoice):
        pdf.setFont(font, size)
        pdf.drawString(x * mm, height - y * mm, line)
    pdf.setStrokeColorRGB(0.6, 0.3, 0.1)
    pdf.rect(10 * mm, 10 * mm, 220 * mm, 88 * mm)
    if qr is not None:
        payload = qr_text(invoice) if qr == "auto" else qr
        image = ImageReader(_qr_image(payload, damaged=damaged_qr))
        pdf.drawImage(image, 12 * mm, height - 34 * mm, 22 * mm, 22 * mm)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _scanned(invoice: InvoiceIssued, *, qr: str | None, damaged_qr: bool) -> bytes:
    """An image-only PDF: the rendered face (with or without its QR code), no text layer."""
    import pypdfium2
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    rendered = pypdfium2.PdfDocument(invoice_pdf(invoice, qr=qr, damaged_qr=damaged_qr))
    image = rendered[0].render(scale=2.5).to_pil().convert("L")
    rendered.close()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=_PAGE, invariant=1)
    pdf.drawImage(ImageReader(image), 0, 0, *_PAGE)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def einvoice_xml(invoice: InvoiceIssued, *, graph_code: bool = False) -> bytes:
    """The 数电 XML file of a 数电 invoice (root `EInvoice`)."""
    kind = invoice_type(invoice.fplx)
    if not kind.digital:
        raise ValueError(f"type {invoice.fplx} is not 数电; only 数电 invoices come as EInvoice XML")
    vat = "01" if invoice.fplx == "31" else "02"
    items = "".join(
        f"<IssuItemInformation><ItemName>{escape(line.item)}</ItemName><Amount>{line.amount:.2f}</Amount>"
        f"<TaxRate>{line.tax_rate}</TaxRate><ComTaxAm>{line.tax:.2f}</ComTaxAm></IssuItemInformation>"
        for line in invoice.lines
    )
    issued = invoice.issued_at.strftime("%Y-%m-%d %H:%M:%S")
    qr = f"<GraphCode>{qr_text(invoice)}</GraphCode>" if graph_code else ""
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<EInvoice>'
        f"<Header><EIid>{invoice.invoice_number}</EIid><EInvoiceTag>SWEI1100</EInvoiceTag><Version>0.1</Version>"
        f"<InherentLabel><EInvoiceType><LabelCode>{invoice.fplx}</LabelCode>"
        f"<LabelName>{escape(kind.name_zh)}</LabelName></EInvoiceType>"
        f"<GeneralOrSpecialVAT><LabelCode>{vat}</LabelCode></GeneralOrSpecialVAT></InherentLabel></Header>"
        "<EInvoiceData>"
        f"<SellerInformation><SellerIdNum>{invoice.seller.tax_id or ''}</SellerIdNum>"
        f"<SellerName>{escape(invoice.seller.name)}</SellerName></SellerInformation>"
        f"<BuyerInformation><BuyerIdNum>{invoice.buyer.tax_id or ''}</BuyerIdNum>"
        f"<BuyerName>{escape(invoice.buyer.name)}</BuyerName></BuyerInformation>"
        f"<BasicInformation><TotalAmWithoutTax>{invoice.amount:.2f}</TotalAmWithoutTax>"
        f"<TotalTaxAm>{invoice.tax:.2f}</TotalTaxAm>"
        f"<TotalTax-includedAmount>{invoice.total:.2f}</TotalTax-includedAmount>"
        f"<TotalTax-includedAmountInChinese>{amount_in_words(invoice.total)}</TotalTax-includedAmountInChinese>"
        f"<Drawer>王芳</Drawer><RequestTime>{issued}</RequestTime></BasicInformation>{items}</EInvoiceData>"
        f"<TaxSupervisionInfo><InvoiceNumber>{invoice.invoice_number}</InvoiceNumber>"
        f"<IssueTime>{issued}</IssueTime><TaxBureauCode>11100000000</TaxBureauCode></TaxSupervisionInfo>"
        f"{qr}</EInvoice>"
    )
    return xml.encode("utf-8")


def _ofd_invoice_xml(invoice: InvoiceIssued, graph_code: bool) -> str:
    """The invoice data an OFD e-invoice attaches, named as OFD e-invoice CustomTags name them."""
    parts = [
        ("InvoiceCode", invoice.invoice_code),
        ("InvoiceNo", invoice.invoice_number),
        ("IssueDate", invoice.issue_date.isoformat()),
        ("InvoiceCheckCode", invoice.check_code),
        ("BuyerName", invoice.buyer.name),
        ("BuyerTaxID", invoice.buyer.tax_id or ""),
        ("SellerName", invoice.seller.name),
        ("SellerTaxID", invoice.seller.tax_id or ""),
        ("TaxExclusiveTotalAmount", f"{invoice.amount:.2f}"),
        ("TaxTotalAmount", f"{invoice.tax:.2f}"),
        ("TaxInclusiveTotalAmount", f"{invoice.total:.2f}"),
    ]
    if graph_code:
        parts.append(("GraphCode", qr_text(invoice)))
    body = "".join(f"<fp:{tag}>{escape(value)}</fp:{tag}>" for tag, value in parts if value)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><fp:InvoiceData xmlns:fp="urn:fapiao">{body}</fp:InvoiceData>'
    )


def invoice_ofd(
    invoice: InvoiceIssued, *, attachment: bool = True, graph_code: bool = True, page_text: bool = True
) -> bytes:
    """The invoice as an OFD package: OFD.xml, Document.xml, one page of text objects, and (optionally)
    the attached invoice data with its GraphCode."""
    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    objects = []
    if page_text:
        for i, (x, y, line, size) in enumerate(face_lines(invoice), start=1):
            objects.append(
                f'<ofd:TextObject ID="{i + 10}" Boundary="{x} {y - size * 0.35:.1f} 200 {size * 0.4:.1f}" '
                f'Font="1" Size="{size * 0.3528:.2f}"><ofd:TextCode X="0" Y="{size * 0.35:.1f}">'
                f"{escape(line)}</ofd:TextCode></ofd:TextObject>"
            )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="2">'
        f"{''.join(objects)}</ofd:Layer></ofd:Content></ofd:Page>"
    )
    attachments_ref = "<ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments>" if attachment else ""
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}><ofd:CommonData><ofd:MaxUnitID>999'
        "</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 240 140</ofd:PhysicalBox></ofd:PageArea>"
        '</ofd:CommonData><ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
        f"{attachments_ref}</ofd:Document>"
    )
    ofd = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.1" DocType="OFD"><ofd:DocBody>'
        f"<ofd:DocInfo><ofd:DocID>{invoice.event_id.hex}</ofd:DocID><ofd:Creator>Fapiao Sentinel demo"
        "</ofd:Creator></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    files = {
        "OFD.xml": ofd,
        "Doc_0/Document.xml": document,
        "Doc_0/Pages/Page_0/Content.xml": content,
    }
    if attachment:
        files["Doc_0/Attachs/Attachments.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Attachments {ns}><ofd:Attachment ID="1" '
            'Name="original_invoice" Format="xml"><ofd:FileLoc>original_invoice.xml</ofd:FileLoc>'
            "</ofd:Attachment></ofd:Attachments>"
        )
        files["Doc_0/Attachs/original_invoice.xml"] = _ofd_invoice_xml(invoice, graph_code)
    return zip_bytes({name: text.encode("utf-8") for name, text in files.items()})


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A ZIP archive of these members, in this order (names are written as given, unchecked)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(
                zipfile.ZipInfo(name, date_time=(2026, 11, 20, 0, 0, 0)), data, zipfile.ZIP_DEFLATED
            )
    return out.getvalue()
