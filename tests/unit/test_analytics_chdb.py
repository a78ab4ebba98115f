"""Rollups, trends and history on current ClickHouse (chdb, in-process)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from fapiao.warehouse.engine import ChdbEngine
from tests import analytics_contract
from tests.analytics_contract import Dataset


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[ChdbEngine, Dataset]]:
    engine = ChdbEngine(database=f"a_{uuid.uuid4().hex[:8]}")
    yield engine, analytics_contract.load(engine)
    engine.close()


@pytest.mark.parametrize("check", analytics_contract.CHECKS, ids=lambda c: c.__name__)
def test_on_current_clickhouse(loaded: tuple[ChdbEngine, Dataset], check: Callable[..., None]) -> None:
    check(*loaded)
