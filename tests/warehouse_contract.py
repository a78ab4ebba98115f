"""The checks every ClickHouse engine must pass: migrations and the queries the code issues.

Run on current ClickHouse in-process (chdb, tests/unit/test_warehouse_chdb.py) and on the real
18.16 server (tests/integration/test_warehouse_server.py), so a construct either lacks fails CI.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fapiao.domain import register
from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision, decide
from fapiao.warehouse import migrations
from fapiao.warehouse import results as results_table
from fapiao.warehouse.engine import Engine
from schemas.events import Verdict
from tests.factories import check_of, issued


def check_migrations_apply_once(engine: Engine) -> None:
    first = migrations.migrate(engine)
    assert [m.version for m in first] == [m.version for m in migrations.load()]
    assert migrations.migrate(engine) == []  # idempotent
    tables = {row[0] for row in engine.execute("SHOW TABLES")}
    assert {"schema_migrations", "check_results", "demo_labels"} <= tables


def check_results_queries(engine: Engine) -> None:
    invoice = issued(number="55500001")
    entry = register.apply_issued(None, invoice)
    request = check_of(invoice)
    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    today = request.requested_at.date()
    decision = decide(request, entry, today, now=now, sync_window=timedelta(days=1))
    consistent = build_result(request, decision, decided_at=now, check_count=1)
    later = build_result(
        request,
        Decision(Verdict.VOIDED, invoice=decision.invoice),
        decided_at=now,
        check_count=1,
        version=2,
        follow_up=True,
    )
    other = build_result(
        check_of(invoice, check_code="000000"),
        Decision(Verdict.INCONSISTENT, ("check_code",)),
        decided_at=now,
        check_count=2,
    )
    rows = [results_table.result_row(r) for r in (consistent, consistent, later, other)]  # one redelivered
    assert engine.insert(results_table.TABLE, results_table.COLUMNS, rows) == 4

    latest = results_table.latest_result(engine, request.org_id, request.check_id)
    assert latest is not None
    assert latest["verdict"] == "voided" and latest["result_version"] == 2 and latest["follow_up"] == 1
    assert Decimal(str(latest["amount"])) == Decimal("100.00")
    assert latest["seller_name"] == "北京海淀示例科技有限公司"
    assert results_table.latest_result(engine, other.org_id, other.check_id)["mismatched_fields"] in (
        ["check_code"],
        ("check_code",),
    )  # type: ignore[index]
    assert results_table.verdict_counts(engine, request.org_id) == {"inconsistent": 1, "voided": 1}
