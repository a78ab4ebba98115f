"""The PDF form of a signed receipt (reportlab). Chinese text uses reportlab's built-in `STSong-Light`
CID font, which needs no font file. The PDF is for people; the signed JSON is what verifies."""

from __future__ import annotations

import io
import textwrap
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

FONT = "STSong-Light"
_FIELDS = (
    ("check_id", "查验编号 Check id"),
    ("invoice_code", "发票代码 Invoice code"),
    ("invoice_number", "发票号码 Invoice number"),
    ("issue_date", "开票日期 Issue date"),
    ("verdict_zh", "查验结果 Verdict"),
    ("verdict_en", ""),
    ("message_zh", "说明 Message"),
    ("mismatched_fields", "不一致项 Mismatched"),
    ("invoice_status", "发票状态 Status"),
    ("check_count", "查验次数 Check count"),
    ("requested_at", "请求时间 Requested"),
    ("decided_at", "查验时间 Decided"),
    ("result_version", "结果版本 Result version"),
)


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def render(document: dict[str, Any]) -> bytes:
    receipt, signature = document["receipt"], document["signature"]
    check = receipt["check"]
    font = _font()
    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(f"查验证明 {check.get('check_id')}")
    pdf.setAuthor(str(receipt.get("issuer", "")))
    width, height = A4
    y = height - 25 * mm
    pdf.setFont(font, 18)
    pdf.drawString(20 * mm, y, "发票查验证明  Invoice Verification Receipt")
    y -= 9 * mm
    pdf.setFont(font, 9)
    pdf.drawString(
        20 * mm,
        y,
        f"{receipt['issuer']} · 证明编号 {receipt['receipt_id']} · 出具时间 {receipt['issued_at']}",
    )
    y -= 5 * mm
    pdf.drawString(20 * mm, y, f"组织 Organisation: {receipt['org_id']}")
    y -= 6 * mm
    pdf.line(20 * mm, y, width - 20 * mm, y)
    y -= 8 * mm
    face = check.get("invoice") or {}
    rows = [(label, check.get(key)) for key, label in _FIELDS if check.get(key) not in (None, "", [])]
    for party, label in (("seller", "销售方 Seller"), ("buyer", "购买方 Buyer")):
        if face.get(party):
            rows.append((label, f"{face[party].get('name', '')} {face[party].get('tax_id') or ''}".strip()))
    if face.get("total") is not None:
        rows.append(("价税合计 Total", f"¥{face['total']}"))
    for label, value in rows:
        text = ", ".join(value) if isinstance(value, list) else str(value)
        pdf.setFont(font, 11)
        pdf.drawString(20 * mm, y, label)
        for line in textwrap.wrap(text, 48) or [""]:
            pdf.drawString(75 * mm, y, line)
            y -= 7 * mm
    y -= 4 * mm
    pdf.line(20 * mm, y, width - 20 * mm, y)
    y -= 8 * mm
    pdf.setFont(font, 10)
    pdf.drawString(
        20 * mm, y, f"国密 SM2 签名 Signature ({signature['algorithm']}, ID {signature['user_id']})"
    )
    y -= 6 * mm
    pdf.setFont("Courier", 8)
    for line in textwrap.wrap(signature["value"], 64):
        pdf.drawString(20 * mm, y, line)
        y -= 4.5 * mm
    y -= 2 * mm
    pdf.setFont(font, 9)
    pdf.drawString(
        20 * mm, y, f"公钥指纹 Public key fingerprint (SM3): {signature['public_key_fingerprint']}"
    )
    y -= 5 * mm
    pdf.drawString(
        20 * mm,
        y,
        "验证 Verify: GET /v1/checks/{id}/receipt (JSON) → fapiao receipt verify FILE.json --public-key KEY",
    )
    y -= 5 * mm
    pdf.drawString(20 * mm, y, "公钥 Public key: GET /v1/keys/receipt-public-key")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
