"""The schema's extreme values are stored and read back unchanged: run on current ClickHouse (chdb,
tests/unit/test_storable_bounds.py) and on the 18.16 server (tests/integration/test_warehouse_server.py)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision, invoice_face
from fapiao.warehouse import migrations
from fapiao.warehouse import results as results_table
from fapiao.warehouse.engine import Engine
from schemas.events import (
    END_MOMENT,
    FIRST_DAY,
    FIRST_MOMENT,
    LAST_DAY,
    UINT32_MAX,
    CheckResult,
    InvoiceStatus,
    RiskAssessment,
    Verdict,
)
from tests.factories import check_of, issued


def base_result(**update: Any) -> CheckResult:
    invoice = issued()
    request = check_of(invoice).model_copy(update={"batch_id": uuid.uuid4(), "batch_row": 7})
    face = invoice_face(invoice, InvoiceStatus.NORMAL)
    result = build_result(
        request, Decision(Verdict.CONSISTENT, invoice=face), decided_at=request.requested_at, check_count=2
    )
    risk = RiskAssessment(score=40, severity="medium", rule_version=3, model_score=0.5, features=(1.0,))
    return result.model_copy(update={"risk": risk, **update})


def extreme_results() -> list[CheckResult]:
    """Results at the schema's extremes, validated (so the schema accepts them)."""
    top = Decimal("99999999999999.99")  # Money: 16 digits, 2 decimals
    low, high = base_result(), base_result()
    assert low.invoice is not None and low.risk is not None
    low = low.model_copy(
        update={"check_id": uuid.uuid4(), "result_version": 1, "batch_row": 1, "check_count": 0}
    )
    high = high.model_copy(
        update={
            "check_id": uuid.uuid4(),
            "result_version": UINT32_MAX,
            "batch_row": UINT32_MAX,
            "check_count": UINT32_MAX,
            "requested_at": END_MOMENT - timedelta(seconds=1),
            "decided_at": END_MOMENT - timedelta(seconds=1),
            "issue_date": LAST_DAY,
            "invoice": low.invoice.model_copy(update={"total": top, "amount": top, "tax": -top}),
            "risk": low.risk.model_copy(update={"rule_version": UINT32_MAX, "score": 100}),
        }
    )
    low = low.model_copy(
        update={"requested_at": FIRST_MOMENT, "decided_at": FIRST_MOMENT, "issue_date": FIRST_DAY}
    )
    return [CheckResult.model_validate_json(r.model_dump_json()) for r in (low, high)]


def check_bounds_stored(engine: Engine) -> None:
    """The schema's extreme values are stored and read back unchanged (run on chdb and on 18.16)."""
    migrations.migrate(engine)
    wanted = {r.check_id: results_table.result_row(r) for r in extreme_results()}
    engine.insert(results_table.TABLE, results_table.COLUMNS, wanted.values())
    cols = ("check_id", "result_version", "batch_row", "check_count", "rule_version", "requested_at",
            "requested_date", "decided_at", "issue_date", "total", "tax")  # fmt: skip
    index = [results_table.COLUMNS.index(c) for c in cols]
    rows = engine.execute(
        f"SELECT {', '.join(f'toString({c})' for c in cols)} FROM check_results WHERE check_id IN %(ids)s",
        {"ids": tuple(wanted)},
    )
    assert len(rows) == 2
    for got in rows:
        row = wanted[uuid.UUID(got[0])]
        for name, i, text in zip(cols, index, got, strict=True):
            value = row[i]
            if isinstance(value, Decimal):
                assert Decimal(text) == value, (name, text, value)
            else:
                expected = value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else str(value)
                assert text == expected, (name, text, expected)
