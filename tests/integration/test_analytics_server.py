"""Rollups, trends and history on the real ClickHouse server (18.16 here)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from tests import (
    analytics_contract,
    count_warmer_contract,
    lookups_contract,
    redelivery_contract,
    reports_contract,
)
from tests.analytics_contract import Dataset


@contextlib.contextmanager
def _database(prefix: str) -> Iterator[NativeEngine]:
    """An engine on a fresh database of the server, dropped afterwards."""
    engine = NativeEngine(Settings(_env_file=None), database=f"{prefix}_{uuid.uuid4().hex[:8]}")  # type: ignore[call-arg]
    try:
        yield engine
    finally:
        engine.execute(f"DROP DATABASE IF EXISTS {engine.database}")
        engine.close()


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[NativeEngine, Dataset]]:
    with _database("an") as engine:
        yield engine, analytics_contract.load(engine)


@pytest.mark.parametrize(
    "check", analytics_contract.CHECKS + reports_contract.CHECKS, ids=lambda c: c.__name__
)
def test_on_the_server(loaded: tuple[NativeEngine, Dataset], check: Callable[..., None]) -> None:
    check(*loaded)


def test_retention_on_the_server() -> None:
    with _database("rt") as engine:
        reports_contract.check_retention_drops_old_months(engine)


@pytest.fixture(scope="module")
def with_lookups() -> Iterator[tuple[NativeEngine, dict[str, str]]]:
    with _database("lk") as engine:
        yield engine, lookups_contract.load(engine)


@pytest.mark.parametrize("check", lookups_contract.CHECKS, ids=lambda c: c.__name__)
def test_lookups_on_the_server(
    with_lookups: tuple[NativeEngine, dict[str, str]], check: Callable[..., None]
) -> None:
    check(*with_lookups)


def test_lookup_backfill_on_the_server(tmp_path: Path) -> None:
    with _database("lb") as engine:
        lookups_contract.check_migration_backfills_older_rows(engine, tmp_path)


def test_rows_without_their_copy_on_the_server() -> None:
    with _database("lc") as engine:
        lookups_contract.check_rows_without_their_copy_come_from_check_results(engine)


def test_count_warming_on_the_server() -> None:
    with _database("wm") as engine:
        count_warmer_contract.check_warmed_counts_make_first_trends_read_only_counts(engine)


def test_figures_survive_redeliveries_and_versions_on_the_server() -> None:
    with _database("rd") as engine:
        redelivery_contract.check_figures_survive_redeliveries_and_versions(engine)
