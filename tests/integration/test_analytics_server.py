"""Rollups, trends and history on the real ClickHouse server (18.16 here)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from tests import analytics_contract, count_warmer_contract, lookups_contract, reports_contract
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


def _server(prefix: str) -> NativeEngine:
    return NativeEngine(Settings(_env_file=None), database=f"{prefix}_{uuid.uuid4().hex[:8]}")  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def with_lookups() -> Iterator[tuple[NativeEngine, dict[str, str]]]:
    engine = _server("lk")
    try:
        yield engine, lookups_contract.load(engine)
    finally:
        engine.execute(f"DROP DATABASE IF EXISTS {engine.database}")
        engine.close()


@pytest.mark.parametrize("check", lookups_contract.CHECKS, ids=lambda c: c.__name__)
def test_lookups_on_the_server(
    with_lookups: tuple[NativeEngine, dict[str, str]], check: Callable[..., None]
) -> None:
    check(*with_lookups)


def test_lookup_backfill_on_the_server(tmp_path: Path) -> None:
    engine = _server("lb")
    try:
        lookups_contract.check_migration_backfills_older_rows(engine, tmp_path)
    finally:
        engine.execute(f"DROP DATABASE IF EXISTS {engine.database}")
        engine.close()


def test_rows_without_their_copy_on_the_server() -> None:
    engine = _server("lc")
    try:
        lookups_contract.check_rows_without_their_copy_come_from_check_results(engine)
    finally:
        engine.execute(f"DROP DATABASE IF EXISTS {engine.database}")
        engine.close()


def test_count_warming_on_the_server() -> None:
    engine = _server("wm")
    try:
        count_warmer_contract.check_warmed_counts_make_first_trends_read_only_counts(engine)
    finally:
        engine.execute(f"DROP DATABASE IF EXISTS {engine.database}")
        engine.close()
