"""Rollups, trends and history on current ClickHouse (chdb, in-process)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fapiao.warehouse.engine import ChdbEngine
from tests import (
    analytics_contract,
    count_warmer_contract,
    lookups_contract,
    redelivery_contract,
    reports_contract,
)
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


@pytest.fixture(scope="module")
def with_lookups() -> Iterator[tuple[ChdbEngine, dict[str, str]]]:
    engine = ChdbEngine(database=f"l_{uuid.uuid4().hex[:8]}")
    yield engine, lookups_contract.load(engine)
    engine.close()


@pytest.mark.parametrize("check", lookups_contract.CHECKS, ids=lambda c: c.__name__)
def test_lookups_on_current_clickhouse(
    with_lookups: tuple[ChdbEngine, dict[str, str]], check: Callable[..., None]
) -> None:
    check(*with_lookups)


def test_lookup_backfill_on_current_clickhouse(tmp_path: Path) -> None:
    engine = ChdbEngine(database=f"lb_{uuid.uuid4().hex[:8]}")
    try:
        lookups_contract.check_migration_backfills_older_rows(engine, tmp_path)
    finally:
        engine.close()


def test_rows_without_their_copy_on_current_clickhouse() -> None:
    engine = ChdbEngine(database=f"lc_{uuid.uuid4().hex[:8]}")
    try:
        lookups_contract.check_rows_without_their_copy_come_from_check_results(engine)
    finally:
        engine.close()


def test_count_warming_on_current_clickhouse() -> None:
    engine = ChdbEngine(database=f"w_{uuid.uuid4().hex[:8]}")
    try:
        count_warmer_contract.check_warmed_counts_make_first_trends_read_only_counts(engine)
    finally:
        engine.close()


def test_figures_survive_redeliveries_and_versions_on_current_clickhouse() -> None:
    engine = ChdbEngine(database=f"r_{uuid.uuid4().hex[:8]}")
    try:
        redelivery_contract.check_figures_survive_redeliveries_and_versions(engine)
    finally:
        engine.close()
