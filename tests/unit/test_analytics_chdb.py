"""Rollups, trends and history on current ClickHouse (chdb, in-process)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from fapiao.warehouse.engine import ChdbEngine
from tests import analytics_contract, reports_contract
from tests.analytics_contract import Dataset


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[ChdbEngine, Dataset]]:
    engine = ChdbEngine(database=f"a_{uuid.uuid4().hex[:8]}")
    yield engine, analytics_contract.load(engine)
    engine.close()


@pytest.mark.parametrize(
    "check", analytics_contract.CHECKS + reports_contract.CHECKS, ids=lambda c: c.__name__
)
def test_on_current_clickhouse(loaded: tuple[ChdbEngine, Dataset], check: Callable[..., None]) -> None:
    check(*loaded)


def test_retention_on_current_clickhouse() -> None:
    engine = ChdbEngine(database=f"r_{uuid.uuid4().hex[:8]}")
    try:
        reports_contract.check_retention_drops_old_months(engine)
    finally:
        engine.close()
