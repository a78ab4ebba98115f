"""bench/data.issued_payloads (the template feed of a large register) writes the invoices `invoice(i)`
would (only the event ids differ), keyed by their invoice keys, in the form the register reads without
the model."""

from __future__ import annotations

import json

from bench import data
from fapiao.domain.invoice_types import invoice_key
from schemas.events import InvoiceIssued
from schemas.stored_issued import stored_form


def test_the_template_feed_is_the_models_invoices() -> None:
    day = data.today_shanghai()
    indices = [0, 1, 199, 200, 8999, 12_345, 9_999_999]
    fed = list(data.issued_payloads(indices, day))
    ids = set()
    for i, (key, value) in zip(indices, fed, strict=True):
        model = data.invoice(i, day)
        got = InvoiceIssued.model_validate_json(value)
        assert got.model_copy(update={"event_id": model.event_id}) == model
        assert key.decode() == invoice_key(model.invoice_code, model.invoice_number)
        assert stored_form(value) == json.loads(value)  # the bulk feed's fast path takes it
        ids.add(got.event_id)
    assert len(ids) == len(indices)
