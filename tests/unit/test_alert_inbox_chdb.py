"""The alert inbox and decisions queries on current ClickHouse (chdb)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from fapiao.warehouse.engine import ChdbEngine
from tests import alert_inbox_contract


@pytest.fixture
def engine() -> Iterator[ChdbEngine]:
    engine = ChdbEngine(database=f"t_{uuid.uuid4().hex[:8]}")
    yield engine
    engine.close()


def test_inbox_queries_on_current_clickhouse(engine: ChdbEngine) -> None:
    alert_inbox_contract.check_inbox_queries(engine)


def test_decisions_on_current_clickhouse(engine: ChdbEngine) -> None:
    alert_inbox_contract.check_decisions(engine)
