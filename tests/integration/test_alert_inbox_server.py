"""The alert inbox and decisions queries on the real ClickHouse server (18.16 here)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from tests import alert_inbox_contract


@pytest.fixture
def engine() -> Iterator[NativeEngine]:
    engine = NativeEngine(Settings(_env_file=None), database=f"inbox_{uuid.uuid4().hex[:8]}")  # type: ignore[call-arg]
    yield engine
    engine.execute(f"DROP DATABASE IF EXISTS {engine.database}")
    engine.close()


def test_inbox_queries_on_the_server(engine: NativeEngine) -> None:
    alert_inbox_contract.check_inbox_queries(engine)


def test_decisions_on_the_server(engine: NativeEngine) -> None:
    alert_inbox_contract.check_decisions(engine)
