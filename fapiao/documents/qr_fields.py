"""Fields from an invoice QR string, through the one QR parser (fapiao.domain.qr_payload)."""

from __future__ import annotations

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
