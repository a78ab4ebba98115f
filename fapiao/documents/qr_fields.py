"""Fields from an invoice QR string, through the one QR parser (fapiao.domain.qr_payload)."""

from __future__ import annotations

from fapiao.documents.model import Note
from fapiao.domain.invoice_types import FourthField, invoice_type
from fapiao.domain.qr_payload import QrPayloadError, parse_qr_payload


def fields_from_qr(text: str) -> dict[str, str] | None:
    """The fields of an invoice QR string; None when the text is not one (a URL, another code)."""
    try:
        # real 数电 QR codes write an empty code as a blank ("01,31, ,2351…"): fields are trimmed
        payload = parse_qr_payload(",".join(part.strip() for part in text.strip().split(",")))
    except QrPayloadError:
        return None
    amount_field = "total" if payload.amount_field is FourthField.TOTAL_WITH_TAX else "amount"
    found = {
        "fplx": invoice_type(payload.fplx).fplx,  # 81/82 -> 31/32
        "invoice_number": payload.invoice_number,
        "issue_date": payload.issue_date.isoformat(),
        amount_field: f"{payload.amount:.2f}",
    }
    if payload.invoice_code:
        found["invoice_code"] = payload.invoice_code
    if payload.check_code:
        found["check_code"] = payload.check_code
    return found


QR_NOT_INVOICE = Note("qr_not_invoice", "二维码不是发票二维码", "the QR code is not an invoice QR code")
QR_UNREADABLE = Note("qr_unreadable", "二维码无法识别", "a QR code was found but could not be decoded")
QR_MISSING = Note("qr_missing", "未找到二维码", "no QR code found on the page")


def read_qr(
    texts: list[str], unreadable: int, *, say_missing: bool
) -> tuple[dict[str, str] | None, Note | None]:
    """The fields of the first invoice QR string among those decoded, or the note saying why there are
    none (`say_missing`: also when no QR code was seen at all)."""
    fields = next((f for f in map(fields_from_qr, texts) if f), None)
    if fields:
        return fields, None
    if texts:
        return None, QR_NOT_INVOICE
    if unreadable:
        return None, QR_UNREADABLE
    return None, QR_MISSING if say_missing else None
