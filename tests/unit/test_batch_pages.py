"""The batch results file's paging (`services.api.routes.batches._pages`): every row once, in input order,
with its own result, however the item pages and the results windows fall; one results query per window;
and when the progress poll asks for rejections."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import pytest

from fapiao.batches.export import result_line
from fapiao.warehouse import batches as store
from services.api.routes import batches as route


class FakeState:
    """Answers `state.query(fn, ...)` from in-memory items and results, recording each query."""

    sealer = None  # the rows carry no sealed parties: nothing to open

    def __init__(self, total: int, missing: set[int]) -> None:
        self.items = [_item(row) for row in range(1, total + 1)]
        self.results = {row: _result(row) for row in range(1, total + 1) if row not in missing}
        self.calls: list[tuple[str, int, int]] = []

    async def query(self, fn: Any, *args: Any) -> Any:
        if fn is store.items_page:
            _, _, first, last = args
            self.calls.append(("items", first, last))
            return [i for i in self.items if first <= i["batch_row"] <= last]
        assert fn is store.results_page
        _, _, _, first, last = args
        self.calls.append(("results", first, last))
        return {row: r for row, r in self.results.items() if first <= row <= last}


def _item(row: int) -> dict[str, Any]:
    return {
        "batch_row": row,
        "line": row + 1,
        "source_name": "batch.csv",
        "check_id": str(uuid.uuid4()),
        "invoice_code": "011002623112",
        "invoice_number": f"{row:08d}",
        "issue_date": "2026-12-01",
        "amount": "",
        "check_code": "123456",
        "problem_fields": [],
        "problem_codes": [],
        "problem_messages_zh": [],
        "problem_messages_en": [],
    }


def _result(row: int) -> dict[str, Any]:
    return {
        "batch_row": row,
        "verdict": "consistent",
        "message_zh": "查验结果一致",
        "message_en": "the invoice matches the register",
        "mismatched_fields": [],
        "check_count": row % 5 + 1,
        "invoice_status": "normal",
        "fplx": "01",
        "seller_name": f"seller {row}",
        "seller_tax_id": "",
        "buyer_name": "",
        "buyer_tax_id": "",
        "amount": "1.00",
        "tax": "0.13",
        "total": "1.13",
    }


async def _lines(state: FakeState, total: int) -> list[list[Any]]:
    pages = route._pages(state, "org", uuid.uuid4(), date(2026, 12, 1), total)  # type: ignore[arg-type]
    return [line async for page in pages for line in page]


@pytest.mark.parametrize(
    ("total", "page", "window"), [(17, 3, 7), (20, 5, 10), (9, 4, 4), (1, 5, 25), (12, 5, 6)]
)
def test_every_row_once_in_order_with_its_own_result(
    monkeypatch: pytest.MonkeyPatch, total: int, page: int, window: int
) -> None:
    monkeypatch.setattr(route, "EXPORT_PAGE", page)
    monkeypatch.setattr(route, "RESULTS_WINDOW", window)
    state = FakeState(total, missing={2, total})
    lines = asyncio.run(_lines(state, total))
    expected = [result_line({**item, "result": state.results.get(item["batch_row"])}) for item in state.items]
    assert lines == expected
    assert [line[0] for line in lines] == list(range(1, total + 1))
    assert [c for c in state.calls if c[0] == "results"] == [
        ("results", first, min(first + window - 1, total)) for first in range(1, total + 1, window)
    ]


def test_a_100k_batch_reads_its_results_in_four_queries() -> None:
    state = FakeState(0, set())
    total = 100_000
    state.items = []  # only the queries are counted here
    asyncio.run(_lines(state, total))
    assert sum(1 for c in state.calls if c[0] == "results") == 4
    assert sum(1 for c in state.calls if c[0] == "items") == 20


@pytest.mark.parametrize(
    ("state", "rejected", "queried"),
    [("accepted", 0, False), ("accepted", 3, True), ("receiving", 0, True), ("failed", 0, True)],
)
def test_the_progress_poll_skips_rejections_only_of_an_accepted_batch_without_any(
    state: str, rejected: int, queried: bool
) -> None:
    assert route._may_have_rejections({"state": state, "rejected": rejected}) is queried
