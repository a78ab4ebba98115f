"""From what a document says to the check it asks for: type, fourth field, and whether it can be trusted."""

from __future__ import annotations

from decimal import Decimal

from fapiao.documents.exceptions import DocumentError
from fapiao.documents.model import Extraction
from fapiao.documents.normalize import parse_date
from fapiao.domain.check_fields import CheckFields, fourth_field_value
from fapiao.domain.invoice_types import FourthField, invoice_type
from fapiao.domain.request_rules import expected_fourth_field

# a disagreement on these makes the document's check meaningless (and may be a doctored face)
CHECKED = ("invoice_code", "invoice_number", "issue_date", "amount", "total", "check_code")


def check_fields(extraction: Extraction) -> CheckFields:
    """The check a document asks for; DocumentError when a needed field is missing or disputed."""
    disputed = [d.field for d in extraction.disagreements if d.field in CHECKED]
    if disputed:
        raise DocumentError("fields_disagree", fields=", ".join(disputed))
    code = extraction.value("invoice_code") or ""
    number = extraction.value("invoice_number") or ""
    issued = parse_date(extraction.value("issue_date"))
    fourth = _fourth_field(extraction.value("fplx"), code, number)
    amount, check_code = (None, None)
    if fourth is not None:
        amount, check_code = fourth_field_value(
            fourth,
            amount=_decimal(extraction.value("amount")),
            total=_decimal(extraction.value("total")),
            check_code=extraction.value("check_code"),
        )
    missing = [
        name
        for name, present in (
            ("invoice_number", bool(number)),
            ("issue_date", issued is not None),
            (fourth.label_en if fourth else "invoice type", amount is not None or check_code is not None),
        )
        if not present
    ]
    if missing or issued is None:
        raise DocumentError("missing_fields", fields=", ".join(missing))
    return CheckFields(code, number, issued, amount, check_code)


def proposed_fields(extraction: Extraction) -> dict[str, str]:
    """What the document says its check is, as text, even when a field is disputed or missing: the
    form a reviewer starts from (the fourth field as the type asks for it, the check code's last 6)."""
    code = extraction.value("invoice_code") or ""
    number = extraction.value("invoice_number") or ""
    issued = parse_date(extraction.value("issue_date"))
    out = {"invoice_code": code, "invoice_number": number, "issue_date": issued.isoformat() if issued else ""}
    fourth = _fourth_field(extraction.value("fplx"), code, number)
    if fourth is not None:
        try:
            amount, check_code = fourth_field_value(
                fourth,
                amount=_decimal(extraction.value("amount")),
                total=_decimal(extraction.value("total")),
                check_code=extraction.value("check_code"),
            )
        except ArithmeticError:
            amount, check_code = None, None
        out["amount"] = f"{amount:.2f}" if amount is not None else ""
        out["check_code"] = check_code or ""
    return {name: value for name, value in out.items() if value}


def _fourth_field(fplx: str | None, code: str, number: str) -> FourthField | None:
    from_numbers = expected_fourth_field(code, number)
    if from_numbers is not None:
        return from_numbers
    try:
        return invoice_type(fplx).fourth_field if fplx else None
    except KeyError:
        return None


def _decimal(value: str | None) -> Decimal | None:
    return Decimal(value) if value else None
