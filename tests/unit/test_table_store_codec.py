"""The register's RocksDB store encodes and decodes a JSON table's keys and values with orjson directly
(streams/table_store.py `encode_key` / `encode_value` / `decode_value`): the same bytes and values as
faust's serializer registry, which the changelog's readers (recovery, standbys) and the per-key path use."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fapiao.settings import Settings
from schemas.stored_issued import StoredJSON, stored_form
from streams.app import create_app
from streams.table_store import RocksStore

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> RocksStore:
    data = tmp_path_factory.mktemp("tables")
    pipeline = create_app(Settings(data_dir=Path(data), faust_store="rocksdb://"))
    rocks = pipeline.register.data
    assert isinstance(rocks, RocksStore)
    return rocks


ENTRIES: list[Any] = [
    {
        "invoice": {
            "seller": {"name": "北京某某科技有限公司", "tax_id": "91110000MA01ABCD1X"},
            "total": "113.00",
        },
        "status": "normal",
        "checks": [{"check_id": "c1", "number": 1, "verdict": None}],
        "checks_total": 1,
        "checks_day": "2026-12-08",
    },
    {"a": Decimal("1.10"), "b": [1, 2.5, None, True]},  # faust's default= hook (Decimal) too
    [],
    {"__faust": {"ns": "not.a.model"}, "x": 1},  # what faust would try to make a model of
]


@pytest.mark.parametrize("value", ENTRIES)
def test_values_encode_and_decode_as_faust_does(store: RocksStore, value: Any) -> None:
    raw = store.encode_value(value)
    assert raw == store._encode_value(value)
    assert raw is not None
    if isinstance(value, dict) and "__faust" in value:
        with pytest.raises(Exception):  # noqa: B017 - faust's own error for it, whichever it is
            store._decode_value(raw)
        with pytest.raises(Exception):  # noqa: B017
            store.decode_value(raw)
        return
    assert store.decode_value(raw) == store._decode_value(raw)


@given(value=JSONISH, key=st.text())
@settings(max_examples=200, deadline=None)
def test_any_json_value_and_key_as_faust_does(store: RocksStore, value: Any, key: str) -> None:
    assert store.encode_key(key) == store._encode_key(key)
    raw = store.encode_value(value)
    assert raw == store._encode_value(value)
    if raw is not None:
        assert store.decode_value(raw) == store._decode_value(raw)


def _stored_issued_payload(spelling: str) -> bytes:
    from tests.factories import issued

    value = issued().model_dump(mode="json")
    if spelling == "orjson":
        return orjson.dumps(value)
    return json.dumps(
        value, ensure_ascii=spelling == "ascii", indent=1 if spelling == "indented" else None
    ).encode()


@pytest.mark.parametrize("spelling", ["orjson", "ascii", "unicode", "indented"])
def test_an_entry_carrying_its_invoices_payload_decodes_as_the_entry_encoded_by_faust(
    store: RocksStore, spelling: str
) -> None:
    """A register entry whose invoice is the feed's payload as it stands (`StoredJSON`) is written with
    the payload's own bytes, in whatever JSON spelling the feed used: read back (by the store and by
    faust's codec, as recovery and standbys read the changelog) it is the same entry."""
    payload = _stored_issued_payload(spelling)
    invoice = stored_form(payload)
    assert type(invoice) is StoredJSON and invoice.json == payload
    entry = {"invoice": invoice, "status": "normal", "checks": [], "checks_total": 0}
    plain = {**entry, "invoice": dict(invoice)}
    raw = store.encode_value(entry)
    assert raw is not None and payload in raw
    assert store.decode_value(raw) == store._decode_value(raw) == plain
    assert store.decode_value(store._encode_value(entry)) == plain  # faust's own path: an ordinary dict


def test_a_stored_form_completed_or_changed_carries_no_payload() -> None:
    from tests.factories import issued

    value = issued().model_dump(mode="json")
    del value["remarks"]  # a default left out: completed, so not the payload's own value
    assert type(stored_form(orjson.dumps(value))) is dict
    assert type(stored_form(b" " + orjson.dumps(issued().model_dump(mode="json")))) is dict  # (whitespace)
