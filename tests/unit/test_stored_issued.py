"""`schemas.stored_issued`: an issued invoice read without the model is exactly what the model reads and
dumps, and anything the fast path does not accept is left to the model (never accepted differently)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas import stored_issued
from schemas.events import InvoiceIssued, InvoiceLine, Party
from schemas.stored_issued import INVOICE_FIELDS, LINE_FIELDS, PARTY_FIELDS, REQUIRED, stored_form
from tests.factories import issued

BASE = issued()
DIGITAL = issued(fplx="32", code="", number="26322000000000000009", check_code="")


def dumped(invoice: InvoiceIssued) -> dict[str, Any]:
    return invoice.model_dump(mode="json")


def model_reads(payload: bytes) -> dict[str, Any] | None:
    """What the model makes of `payload` (its dump), or None when it refuses it."""
    try:
        return dumped(InvoiceIssued.model_validate_json(payload))
    except ValidationError:
        return None


@pytest.mark.parametrize(
    ("fields", "model"),
    [(INVOICE_FIELDS, InvoiceIssued), (PARTY_FIELDS, Party), (LINE_FIELDS, InvoiceLine)],
)
def test_the_fields_are_the_models_in_its_order_with_its_defaults(fields: dict[str, Any], model: Any) -> None:
    assert list(fields) == list(model.model_fields)
    for name, info in model.model_fields.items():
        if info.is_required():
            assert fields[name] is REQUIRED, name
        else:
            default = info.get_default(call_default_factory=True)
            assert fields[name] == (list(default) if isinstance(default, tuple) else default), name


VARIANTS = [
    BASE,
    DIGITAL,
    BASE.model_copy(update={"remarks": '备注 with "quotes" and \\ and\nnewline', "fplx": "81"}),
    BASE.model_copy(
        update={"issued_at": datetime(2026, 11, 20, 10, 0, 1, 250_000, tzinfo=timezone(timedelta(hours=8)))}
    ),
    BASE.model_copy(update={"issued_at": datetime(2026, 11, 20, 2, 0, 0, 1, tzinfo=UTC)}),
    BASE.model_copy(
        update={"issued_at": datetime(2026, 11, 19, 22, 0, tzinfo=timezone(timedelta(hours=-4, minutes=-30)))}
    ),
    BASE.model_copy(
        update={"amount": Decimal("-0.50"), "tax": Decimal("0.00"), "total": Decimal("99999999999999.99")}
    ),
    BASE.model_copy(update={"lines": ()}),
    BASE.model_copy(
        update={
            "seller": Party(
                name="甲", tax_id="91110000123456789X", address_phone="北京 010-1", bank_account="工行 1"
            ),
            "buyer": Party(name="个人"),
            "lines": (
                InvoiceLine(
                    item="x",
                    quantity=Decimal("3"),
                    unit_price=Decimal("0.333"),
                    amount=Decimal("1.00"),
                    tax_rate=Decimal("0"),
                    tax=Decimal("0.00"),
                ),
                InvoiceLine(
                    item="y" * 200, amount=Decimal("1.00"), tax_rate=Decimal("0.17"), tax=Decimal("0.17")
                ),
            ),
        }
    ),
]


@pytest.mark.parametrize("invoice", VARIANTS)
def test_a_payload_in_the_stored_form_reads_as_the_model_dumps_it(invoice: InvoiceIssued) -> None:
    payload = invoice.model_dump_json().encode()
    got = stored_form(payload)
    assert got == dumped(invoice)
    assert list(got or {}) == list(dumped(invoice))  # same order: the same entry bytes as the model's


def test_fields_left_at_their_defaults_are_filled_in_the_models_order() -> None:
    full = dumped(BASE)
    sparse = {k: v for k, v in full.items() if k not in ("schema_version", "remarks", "lines")}
    sparse["seller"] = {"name": full["seller"]["name"], "tax_id": full["seller"]["tax_id"]}
    sparse = dict(reversed(sparse.items()))
    payload = json.dumps(sparse, ensure_ascii=False).encode()
    expected = model_reads(payload)
    assert expected is not None
    got = stored_form(payload)
    assert got == expected and list(got) == list(expected)


@pytest.mark.parametrize(
    ("change", "model_accepts"),
    [
        (lambda d: d.update(event_id=d["event_id"].upper()), True),  # the model dumps lower case
        (lambda d: d.update(issued_at=d["issued_at"].replace("Z", "+00:00")), True),  # dumped as Z
        (lambda d: d.update(amount=100.0), True),  # a number for money
        (lambda d: d.update(amount="100"), True),
        (lambda d: d.update(amount="0100.00"), True),
        (lambda d: d["lines"][0].update(tax_rate="1.3E-1"), True),
        (lambda d: d.update(amount="100.001"), False),
        (lambda d: d.update(unknown=1), False),
        (lambda d: d.pop("total"), False),
        (lambda d: d.update(fplx="99"), False),
        (lambda d: d.update(invoice_number="1234567"), False),
        (lambda d: d.update(invoice_number="１２３４５６７８"), False),  # full-width digits
        (lambda d: d.update(invoice_code="0110023001\n"), False),
        (lambda d: d.update(issue_date="2026-02-30"), False),
        (lambda d: d.update(issued_at="2026-11-20T02:00:00"), False),  # no offset
        (lambda d: d["seller"].update(sealed="x", name=""), False),
        (lambda d: d["seller"].update(name=""), False),
        (lambda d: d["seller"].update(tax_id="91110108abc000000"), False),
        (lambda d: d["lines"][0].update(tax_rate="0.18"), False),
        (lambda d: d.update(schema_version=2), False),
        (lambda d: d.update(schema_version=True), True),  # true == 1 to the model; left to it
    ],
)
def test_other_spellings_and_invalid_payloads_are_left_to_the_model(change: Any, model_accepts: bool) -> None:
    payload = dumped(BASE)
    change(payload)
    raw = json.dumps(payload, ensure_ascii=False).encode()
    assert stored_form(raw) is None
    assert (model_reads(raw) is not None) is model_accepts


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b"null", b'"x"', b"{", "{}".encode("utf-16")])
def test_unreadable_payloads_are_left_to_the_model(raw: bytes) -> None:
    assert stored_form(raw) is None


# Values a producer might put anywhere: near misses of every format the schema knows.
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=25),
    st.from_regex(r"\A-?[0-9]{0,17}(\.[0-9]{0,3})?\Z"),
    st.from_regex(r"\A[0-9]{0,21}\Z"),
    st.from_regex(r"\A[0-9A-Za-z]{14,21}\Z"),
    st.from_regex(
        r"\A20[0-9]{2}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,7})?(Z|[+-][0-9]{2}:[0-9]{2})?)?\Z"
    ),
    st.uuids().map(str),
    st.uuids().map(lambda u: str(u).upper()),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["name", "item", "x"]), st.text(max_size=3), max_size=2),
)


def _paths(d: dict[str, Any]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = [(k,) for k in d]
    for party in ("seller", "buyer"):
        if isinstance(d.get(party), dict):
            out += [(party, k) for k in d[party]]
    if isinstance(d.get("lines"), list):
        out += [("lines", i, k) for i, line in enumerate(d["lines"]) if isinstance(line, dict) for k in line]
    return out


@settings(max_examples=150, deadline=None)
@given(
    base=st.sampled_from(VARIANTS),
    edits=st.lists(
        st.tuples(st.integers(0, 10**6), st.one_of(ODD, st.just("<delete>"))), min_size=1, max_size=3
    ),
)
def test_whatever_the_fast_path_accepts_the_model_reads_the_same(
    base: InvoiceIssued, edits: list[tuple[int, Any]]
) -> None:
    payload = copy.deepcopy(dumped(base))
    for pick, value in edits:
        paths = _paths(payload)
        if not paths:
            break
        *parents, name = paths[pick % len(paths)]
        target: Any = payload
        for step in parents:
            target = target[step]
        if value == "<delete>":
            del target[name]
        else:
            target[name] = value
    raw = json.dumps(payload, ensure_ascii=False).encode()
    got = stored_form(raw)
    if got is not None:
        assert got == model_reads(raw)


def test_a_party_found_plain_once_is_read_the_same_the_next_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache of plain parties changes nothing: a party read twice gives the same form, and a near
    miss of a cached party (one value changed, or of another type) is still checked and refused."""
    monkeypatch.setattr(stored_issued, "_PLAIN_PARTIES", set())
    payload = dumped(BASE)
    raw = json.dumps(payload, ensure_ascii=False).encode()
    assert stored_form(raw) == stored_form(raw) == payload
    assert tuple(payload["seller"].values()) in stored_issued._PLAIN_PARTIES
    for change in (
        lambda d: d["seller"].update(tax_id="91110108abc000000"),
        lambda d: d["seller"].update(name=""),
        lambda d: d["seller"].update(tax_id=[payload["seller"]["tax_id"]]),  # unhashable
        lambda d: d["seller"].update(ref="x"),
    ):
        odd = copy.deepcopy(payload)
        change(odd)
        odd_raw = json.dumps(odd, ensure_ascii=False).encode()
        assert stored_form(odd_raw) is None
        assert stored_form(raw) == payload  # the cached party still reads as before


def test_refused_parties_are_never_cached_and_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stored_issued, "_PLAIN_PARTIES", set())
    monkeypatch.setattr(stored_issued, "_PLAIN_PARTIES_MAX", 3)
    party = dict(dumped(BASE)["seller"])
    assert stored_issued._party({**party, "name": "x" * 201}) is None
    assert not stored_issued._PLAIN_PARTIES
    for n in range(10):
        assert stored_issued._party({**party, "name": f"销售方{n}"}) is not None
        assert len(stored_issued._PLAIN_PARTIES) <= 3


@pytest.mark.parametrize(
    ("rate", "ok"),
    [
        ("0.13", True),
        ("0", True),
        ("0.17", True),
        ("0.18", False),
        ("-0.01", False),
        ("1e-1", False),
        ("0.1300000", False),
    ],
)
def test_a_tax_rate_reads_the_same_whether_cached_or_not(rate: str, ok: bool) -> None:
    assert stored_issued._tax_rate(rate) is ok
    assert stored_issued._tax_rate(rate) is ok  # from the cache
