"""Shared test wiring. Integration tests must carry the `integration` marker; their servers are
started by `make test`, and a missing server fails them (never a silent skip)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.integration)
