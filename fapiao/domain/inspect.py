"""`fapiao inspect VALUE…`: say what an identifier is and what it encodes, as a JSON-ready dict.

Support staff paste whatever is on an invoice (a code, a number, a 税号, the QR text); telling them
which it is and why it is (in)valid answers most "why was my check refused" questions.
"""

from __future__ import annotations

import re
from datetime import date

from fapiao.domain.invoice_codes import UNKNOWN_FPLX, parse_invoice_code
from fapiao.domain.invoice_numbers import is_valid_paper_number, parse_digital_number
from fapiao.domain.invoice_types import INVOICE_TYPES, FourthField, invoice_key, invoice_type
from fapiao.domain.qr_payload import QrPayloadError, parse_qr_payload
from fapiao.domain.taxpayer_id import normalize_tax_id, parse_tax_id

_DIGITS_RE = re.compile(r"[0-9]+")
_TAX_ID_RE = re.compile(r"[0-9]{6}[0-9A-Z]{9}|[0-9A-Z]{18}")


def inspect_value(value: str, today: date) -> dict[str, object]:
    """kind (invoice_code, invoice_number, digital_invoice_number, tax_id, qr_payload or unknown),
    valid, errors and the fields the value encodes; JSON-serialisable, never raises.
    """
    text = value.strip()
    if "," in text:
        return {"value": value, **_qr_payload(text, today)}
    if _DIGITS_RE.fullmatch(text):
        if len(text) == 8:
            return {"value": value, **_paper_number(text)}
        if len(text) in (10, 12):
            return {"value": value, **_invoice_code(text, today)}
        if len(text) == 20:
            return {"value": value, **_digital_number(text, today)}
    if _TAX_ID_RE.fullmatch(normalize_tax_id(text)):
        return {"value": value, **_tax_id(text)}
    errors = ["not an invoice code, invoice number, taxpayer ID or invoice QR payload"]
    return {"value": value, "kind": "unknown", "valid": False, "errors": errors}


def _type_fields(fplx: str) -> dict[str, object]:
    kind = INVOICE_TYPES.get(fplx) if fplx != UNKNOWN_FPLX else None
    if kind is None:
        return {"fplx": fplx, "type_name_zh": None, "type_name_en": None, "fourth_field": None}
    return {
        "fplx": fplx,
        "type_name_zh": kind.name_zh,
        "type_name_en": kind.name_en,
        "fourth_field": kind.fourth_field.value,
    }


def _invoice_code(text: str, today: date) -> dict[str, object]:
    info = parse_invoice_code(text, today)
    return {
        "kind": "invoice_code",
        "valid": info.valid,
        "errors": list(info.errors),
        **_type_fields(info.fplx),
        "region": info.region,
        "region_name": info.region_name,
        "year": info.year,
    }


def _paper_number(text: str) -> dict[str, object]:
    valid = is_valid_paper_number(text)
    errors = [] if valid else ["invoice number must not be all zeros"]
    return {"kind": "invoice_number", "valid": valid, "errors": errors, "number": text}


def _digital_number(text: str, today: date) -> dict[str, object]:
    info = parse_digital_number(text, today)
    return {
        "kind": "digital_invoice_number",
        "valid": info.valid,
        "errors": list(info.errors),
        "year": info.year,
        "province": info.province,
        "province_name": info.province_name,
        "channel": info.channel,
        "sequence": info.sequence,
        "fourth_field": FourthField.TOTAL_WITH_TAX.value,
        "invoice_key": invoice_key("", text),
    }


def _tax_id(text: str) -> dict[str, object]:
    info = parse_tax_id(text)
    return {
        "kind": "tax_id",
        "valid": info.valid,
        "errors": list(info.errors),
        "normalized": info.value,
        "tax_id_kind": info.kind,
        "division": info.division,
        "division_name": info.division_name,
    }


def _qr_payload(text: str, today: date) -> dict[str, object]:
    try:
        p = parse_qr_payload(text)
    except QrPayloadError as e:
        return {"kind": "qr_payload", "valid": False, "errors": [str(e)]}
    kind = invoice_type(p.fplx)
    # Well-formed, but the code or number inside may still be one the platform refuses.
    if p.invoice_code:
        errors = [f"invoice_code: {e}" for e in parse_invoice_code(p.invoice_code, today).errors]
    else:
        errors = [f"invoice_number: {e}" for e in parse_digital_number(p.invoice_number, today).errors]
    if p.issue_date > today:
        errors.append("issue_date: in the future")
    return {
        "kind": "qr_payload",
        "valid": not errors,
        "errors": errors,
        **_type_fields(kind.fplx),
        "fplx": p.fplx,
        "invoice_code": p.invoice_code,
        "invoice_number": p.invoice_number,
        "invoice_key": invoice_key(p.invoice_code, p.invoice_number),
        "amount": str(p.amount),
        "amount_field": p.amount_field.value,
        "issue_date": p.issue_date.isoformat(),
        "check_code": p.check_code,
        "digest": p.digest,
    }
