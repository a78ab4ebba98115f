"""Migrations and queries on current ClickHouse (chdb, in-process)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from fapiao.warehouse.engine import ChdbEngine
from tests import sealing_contract, warehouse_contract


@pytest.fixture
def engine() -> Iterator[ChdbEngine]:
    engine = ChdbEngine(database=f"t_{uuid.uuid4().hex[:8]}")
    yield engine
    engine.close()


def test_migrations_apply_once_on_current_clickhouse(engine: ChdbEngine) -> None:
    warehouse_contract.check_migrations_apply_once(engine)


def test_results_queries_on_current_clickhouse(engine: ChdbEngine) -> None:
    warehouse_contract.check_migrations_apply_once(engine)
    warehouse_contract.check_results_queries(engine)


def test_batch_queries_on_current_clickhouse(engine: ChdbEngine) -> None:
    warehouse_contract.check_migrations_apply_once(engine)
    warehouse_contract.check_batch_queries(engine)


def test_plaintext_rows_get_sealed_on_current_clickhouse(engine: ChdbEngine) -> None:
    sealing_contract.check_plaintext_rows_get_sealed(engine)
