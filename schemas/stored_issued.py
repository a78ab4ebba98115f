"""An `invoices.issued` payload read into its stored form without the pydantic model, when it is already
in that form.

The register keeps an issued invoice as `InvoiceIssued.model_dump(mode="json")` (the entry's `invoice`).
A bulk feed (the tax feed, issuing systems) publishes exactly that form, so validating each payload with
the model and dumping it again costs most of the register's per-invoice work (docs/benchmarks.md,
"The register fold without pydantic"). `stored_form(payload)` recognises a payload that is ALREADY the
canonical form (every value of the type and format the model dumps, fields at their defaults possibly
left out) and returns that form; for anything else — another spelling of a value the model would
accept (a number for money, `+00:00` for `Z`, an upper-case UUID), a missing field, an unknown one, a
value the model refuses — it returns None, and the caller validates the payload with the model, which
either accepts it (and dumps it) or says why not (the dead letter's reason). So this path only ever
accepts a subset of what the model accepts, with the same result: tests/unit/test_stored_issued.py
checks both against the model, and that the fields here are the model's.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from fapiao.domain.invoice_types import FPLX_ALIASES, INVOICE_TYPES

Stored = dict[str, Any]

# The model's fields in its order (model_dump's order), with the dumped default of the optional ones.
REQUIRED = object()  # a field without a default
INVOICE_FIELDS: dict[str, Any] = {
    "schema_version": 1,
    "event_id": REQUIRED,
    "fplx": REQUIRED,
    "invoice_code": "",
    "invoice_number": REQUIRED,
    "issue_date": REQUIRED,
    "issued_at": REQUIRED,
    "seller": REQUIRED,
    "buyer": REQUIRED,
    "lines": [],
    "amount": REQUIRED,
    "tax": REQUIRED,
    "total": REQUIRED,
    "check_code": "",
    "remarks": "",
}
PARTY_FIELDS: dict[str, Any] = {
    "name": "",
    "tax_id": None,
    "address_phone": None,
    "bank_account": None,
    "ref": None,
    "sealed": None,
}
LINE_FIELDS: dict[str, Any] = {
    "item": REQUIRED,
    "quantity": None,
    "unit_price": None,
    "amount": REQUIRED,
    "tax_rate": REQUIRED,
    "tax": REQUIRED,
}
_INVOICE_ORDER = list(INVOICE_FIELDS)
_PARTY_ORDER = list(PARTY_FIELDS)
_LINE_ORDER = list(LINE_FIELDS)
_FPLX = frozenset(INVOICE_TYPES) | frozenset(FPLX_ALIASES)
_MAX_TAX_RATE = Decimal("0.17")
# The formats the model dumps, each matched whole (`fullmatch`: no `$`-before-newline); ASCII digits only.
_A = re.ASCII
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", _A).fullmatch
_NUMBER = re.compile(r"[0-9]{8,20}", _A).fullmatch
_DIGITS = re.compile(r"[0-9]{0,20}", _A).fullmatch
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", _A).fullmatch
# Z for UTC (never +00:00), else ±HH:MM; fractions as six digits
_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?(Z|[+-](?!00:00)[0-9]{2}:[0-9]{2})",
    _A,
).fullmatch
# str(Decimal) of money: plain notation, two decimals, at most 16 digits, no leading zero
_MONEY = re.compile(r"-?(0|[1-9][0-9]{0,13})\.[0-9]{2}", _A).fullmatch
# str(Decimal) in plain notation (what it writes for the values a line carries)
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]{0,19})(\.[0-9]{1,6})?", _A).fullmatch
_TAX_ID = re.compile(r"[0-9A-Z]{15,20}", _A).fullmatch


class StoredJSON(dict[str, Any]):
    """A stored form together with `json`, the payload it was read from, which decodes to exactly this
    dict (every field present, in the model's order, nothing completed or changed): a store may write
    those bytes instead of encoding the dict again (streams/table_store.py). Never mutated (the domain
    copies entries, it does not change them): a change would leave `json` stale."""

    __slots__ = ("json",)

    def __init__(self, value: dict[str, Any], json: bytes) -> None:
        super().__init__(value)
        self.json = json


def stored_form(payload: bytes) -> Stored | None:
    """The stored form of the issued invoice in `payload` (`InvoiceIssued.model_dump(mode="json")` of
    what the model would read), or None when the payload is not plainly that form: validate it with the
    model then (module docstring). A `StoredJSON` when it is the payload's own value as it stands."""
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if type(value) is not dict:
        return None
    stored = _invoice(value)
    if stored is value and payload[:1] == b"{" and payload[-1:] == b"}":  # (no BOM, no whitespace)
        return StoredJSON(value, payload)
    return stored


def _complete(value: dict[str, Any], fields: dict[str, Any], order: list[str]) -> dict[str, Any] | None:
    """`value` with its defaults filled in, in the model's field order; None for an unknown field or a
    missing required one."""
    if list(value) == order:
        return value
    if not value.keys() <= fields.keys():
        return None
    out: dict[str, Any] = {}
    for name, default in fields.items():
        if name in value:
            out[name] = value[name]
        elif default is REQUIRED:
            return None
        else:
            out[name] = list(default) if type(default) is list else default
    return out


def _invoice(raw: dict[str, Any]) -> Stored | None:
    d = _complete(raw, INVOICE_FIELDS, _INVOICE_ORDER)
    if d is None:
        return None
    version, fplx, code, number = d["schema_version"], d["fplx"], d["invoice_code"], d["invoice_number"]
    issue_date, issued_at, check_code, remarks = (
        d["issue_date"],
        d["issued_at"],
        d["check_code"],
        d["remarks"],
    )
    amount, tax, total, event_id = d["amount"], d["tax"], d["total"], d["event_id"]
    if type(version) is not int or version != 1 or type(fplx) is not str or fplx not in _FPLX:
        return None
    if type(event_id) is not str or not _UUID(event_id):
        return None
    if type(code) is not str or not _DIGITS(code) or type(check_code) is not str or not _DIGITS(check_code):
        return None
    if type(number) is not str or not _NUMBER(number) or type(remarks) is not str or len(remarks) > 500:
        return None
    if type(amount) is not str or type(tax) is not str or type(total) is not str:
        return None
    if not (_MONEY(amount) and _MONEY(tax) and _MONEY(total)):
        return None
    if type(issue_date) is not str or not _DATE(issue_date) or not _real_date(issue_date):
        return None
    if type(issued_at) is not str or not _TIME(issued_at) or not _real_time(issued_at):
        return None
    seller, buyer, lines = _party(d["seller"]), _party(d["buyer"]), d["lines"]
    if seller is None or buyer is None or type(lines) is not list:
        return None
    checked = []
    changed = seller is not d["seller"] or buyer is not d["buyer"]
    for line in lines:
        ok = _line(line)
        if ok is None:
            return None
        changed = changed or ok is not line
        checked.append(ok)
    if changed:
        d = {**d, "seller": seller, "buyer": buyer, "lines": checked}
    return d


# Parties already found plain, by their values in the model's field order (a feed names the same sellers
# and buyers over and over): the checks below are skipped for them. Only plain ones are kept, whose
# values are all str or None, so an equal key is the same party (no 1 == True == 1.0 between a str and
# anything else); cleared when full.
_PLAIN_PARTIES: set[tuple[Any, ...]] = set()
_PLAIN_PARTIES_MAX = 8192


def _party(raw: Any) -> dict[str, Any] | None:
    """A plain party (issued invoices carry no sealed ones): a name, optional tax id and details."""
    if type(raw) is not dict:
        return None
    known = None
    if list(raw) == _PARTY_ORDER:  # every field, in order: the feed's usual form
        known = tuple(raw.values())
        try:
            if known in _PLAIN_PARTIES:
                return raw
        except TypeError:  # an unhashable value (a list, a dict): not plain, said below
            known = None
    p = _checked_party(raw)
    if p is not None and known is not None:
        if len(_PLAIN_PARTIES) >= _PLAIN_PARTIES_MAX:
            _PLAIN_PARTIES.clear()
        _PLAIN_PARTIES.add(known)
    return p


def _checked_party(raw: dict[str, Any]) -> dict[str, Any] | None:
    p = _complete(raw, PARTY_FIELDS, _PARTY_ORDER)
    if p is None or p["ref"] is not None or p["sealed"] is not None:
        return None
    name, tax_id, address, bank = p["name"], p["tax_id"], p["address_phone"], p["bank_account"]
    if type(name) is not str or not name or len(name) > 200:
        return None
    if tax_id is not None and (type(tax_id) is not str or not _TAX_ID(tax_id)):
        return None
    if address is not None and (type(address) is not str or len(address) > 300):
        return None
    if bank is not None and (type(bank) is not str or len(bank) > 300):
        return None
    return p


def _line(raw: Any) -> dict[str, Any] | None:
    if type(raw) is not dict:
        return None
    line = _complete(raw, LINE_FIELDS, _LINE_ORDER)
    if line is None:
        return None
    item, amount, tax, rate = line["item"], line["amount"], line["tax"], line["tax_rate"]
    quantity, price = line["quantity"], line["unit_price"]
    if type(item) is not str or not item or len(item) > 200:
        return None
    if type(amount) is not str or type(tax) is not str or not _MONEY(amount) or not _MONEY(tax):
        return None
    if quantity is not None and (type(quantity) is not str or not _DECIMAL(quantity)):
        return None
    if price is not None and (type(price) is not str or not _DECIMAL(price)):
        return None
    if type(rate) is not str or not _tax_rate(rate):
        return None
    return line


_TAX_RATES: dict[str, bool] = {}  # rate text -> is a tax rate (a handful of rates in practice; bounded)


def _tax_rate(rate: str) -> bool:
    ok = _TAX_RATES.get(rate)
    if ok is None:
        ok = bool(_DECIMAL(rate)) and 0 <= Decimal(rate) <= _MAX_TAX_RATE
        if len(_TAX_RATES) < 1024:
            _TAX_RATES[rate] = ok
    return ok


def _real_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _real_time(text: str) -> bool:
    """A real moment (the format is matched already): no 25th hour, no 61st minute, offset < 24 h."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True
