"""Rollups, trends and history on the real ClickHouse server (18.16 here)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from tests import analytics_contract, reports_contract
from tests.analytics_contract import Dataset


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[NativeEngine, Dataset]]:
    engine = NativeEngine(Settings(_env_file=None), database=f"an_{uuid.uuid4().hex[:8]}")  # type: ignore[call-arg]
    try:
        yield engine, analytics_contract.load(engine)
    finally:
        engine.execute(f"DROP DATABASE IF EXISTS {engine.database}")
        engine.close()


@pytest.mark.parametrize(
    "check", analytics_contract.CHECKS + reports_contract.CHECKS, ids=lambda c: c.__name__
)
def test_on_the_server(loaded: tuple[NativeEngine, Dataset], check: Callable[..., None]) -> None:
    check(*loaded)


def test_retention_on_the_server() -> None:
    engine = NativeEngine(Settings(_env_file=None), database=f"rt_{uuid.uuid4().hex[:8]}")  # type: ignore[call-arg]
    try:
        reports_contract.check_retention_drops_old_months(engine)
    finally:
        engine.execute(f"DROP DATABASE IF EXISTS {engine.database}")
        engine.close()
