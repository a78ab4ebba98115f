"""What a register change tells the per-seller statistics (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from fapiao.domain import register
from fapiao.domain.invoice_types import invoice_key
from schemas.events import InvoiceIssued, InvoiceStatus, SellerActivity

_KINDS = {
    InvoiceStatus.VOIDED: "voided",
    InvoiceStatus.RED_FLUSHED_PARTIAL: "red_flushed",
    InvoiceStatus.RED_FLUSHED_FULL: "red_flushed",
}


def seller_activity(
    entry: register.Entry | None, issued: bool, invoice: InvoiceIssued | None = None
) -> SellerActivity | None:
    """The activity event after an issuance (`issued`) or a status change; None when there is
    nothing to tell (no seller tax id, status change of an invoice not yet issued, or a restore).
    `invoice`: the entry's invoice when the caller has it parsed already (the issuance just folded)."""
    invoice = invoice or register.issued_invoice(entry)
    if invoice is None or not invoice.seller.tax_id:
        return None
    if issued:
        kind, at = "issued", invoice.issued_at
    else:
        status = register.status_of(entry)
        if status not in _KINDS:
            return None
        kind, at = _KINDS[status], datetime.fromisoformat(str((entry or {})["status_changed_at"]))
    return SellerActivity(
        seller_tax_id=invoice.seller.tax_id,
        kind=kind,  # type: ignore[arg-type]
        invoice_key=invoice_key(invoice.invoice_code, invoice.invoice_number),
        invoice_number=invoice.invoice_number,
        buyer_tax_id=invoice.buyer.tax_id or "",
        amount=invoice.total,
        issued_at=invoice.issued_at,
        at=at,
    )


@dataclass(frozen=True, slots=True)
class Told:
    """A seller activity as the register publishes it on `sellers.activity`: its key (the seller's tax id)
    and its JSON value; `model` when it was built as a model (else `activity()` reads the value)."""

    seller_tax_id: str
    value: bytes
    model: SellerActivity | None = None

    @classmethod
    def of(cls, activity: SellerActivity) -> Told:
        return cls(activity.seller_tax_id, activity.model_dump_json().encode(), activity)

    def activity(self) -> SellerActivity:
        return self.model if self.model is not None else SellerActivity.model_validate_json(self.value)


def issued_told(invoice: dict[str, Any]) -> Told | None:
    """The activity of an issuance, from the invoice's stored form (`InvoiceIssued.model_dump(mode=
    "json")`, already validated: the model's dump or `schemas.stored_issued`'s check of it), written
    without a model: the same bytes as `Told.of(seller_activity(entry, True, invoice))` (the stored
    timestamp and total are the model's own JSON of them), at a fraction of the cost."""
    seller = invoice["seller"]["tax_id"]
    if not seller:
        return None
    at = invoice["issued_at"]
    value = {
        "schema_version": 1,
        "seller_tax_id": seller,
        "kind": "issued",
        "invoice_key": invoice_key(invoice["invoice_code"], invoice["invoice_number"]),
        "invoice_number": invoice["invoice_number"],
        "buyer_tax_id": invoice["buyer"]["tax_id"] or "",
        "amount": invoice["total"],
        "issued_at": at,
        "at": at,
    }
    return Told(seller, orjson.dumps(value))
