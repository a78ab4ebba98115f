"""Migrations and queries on the real ClickHouse server (18.16 here)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from tests import bounds_contract, sealing_contract, warehouse_contract


@pytest.fixture
def engine() -> Iterator[NativeEngine]:
    engine = NativeEngine(Settings(_env_file=None), database=f"wh_{uuid.uuid4().hex[:8]}")  # type: ignore[call-arg]
    yield engine
    engine.execute(f"DROP DATABASE IF EXISTS {engine.database}")
    engine.close()


def test_migrations_apply_once_on_the_server(engine: NativeEngine) -> None:
    warehouse_contract.check_migrations_apply_once(engine)


def test_results_queries_on_the_server(engine: NativeEngine) -> None:
    warehouse_contract.check_migrations_apply_once(engine)
    warehouse_contract.check_results_queries(engine)


def test_batch_queries_on_the_server(engine: NativeEngine) -> None:
    warehouse_contract.check_migrations_apply_once(engine)
    warehouse_contract.check_batch_queries(engine)


def test_plaintext_rows_get_sealed_on_the_server(engine: NativeEngine) -> None:
    sealing_contract.check_plaintext_rows_get_sealed(engine)


def test_the_schemas_extremes_are_stored_unchanged_on_the_server(engine: NativeEngine) -> None:
    bounds_contract.check_bounds_stored(engine)
