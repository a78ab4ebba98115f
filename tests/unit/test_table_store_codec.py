"""The register's RocksDB store encodes and decodes a JSON table's keys and values with orjson directly
(streams/table_store.py `encode_key` / `encode_value` / `decode_value`): the same bytes and values as
faust's serializer registry, which the changelog's readers (recovery, standbys) and the per-key path use."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fapiao.settings import Settings
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
