"""The checks every ClickHouse engine must pass: migrations and the queries the code issues.

Run on current ClickHouse in-process (chdb, tests/unit/test_warehouse_chdb.py) and on the real
18.16 server (tests/integration/test_warehouse_server.py), so a construct either lacks fails CI.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

from fapiao.batches.items import BatchItem, check_id_of
from fapiao.batches.row_checks import RowProblem
from fapiao.domain import register
from fapiao.domain.check_fields import CheckFields
from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision, decide
from fapiao.warehouse import batches, migrations
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


def check_batch_queries(engine: Engine) -> None:
    """Batch metadata, items and progress: the queries of fapiao.warehouse.batches."""
    assert {"batches", "batch_items"} <= {row[0] for row in engine.execute("SHOW TABLES")}
    batch_id = uuid4()
    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    record = batches.BatchRecord(
        "acme", batch_id, 1, "receiving", "rows", "发票.csv", "alice", 0, 0, 0, now, now
    )
    batches.save_batch(engine, record)
    final = batches.BatchRecord(
        "acme", batch_id, 2, "accepted", "rows", "发票.csv", "alice", 3, 2, 1, now, now
    )
    batches.save_batch(engine, final)
    stored = batches.get_batch(engine, "acme", batch_id)
    assert stored is not None and stored["state"] == "accepted" and stored["total_rows"] == 3
    assert batches.get_batch(engine, "other-org", batch_id) is None

    fields = CheckFields("011002300111", "12345678", date(2026, 11, 20), None, "567890")
    problem = RowProblem(3, "issue_date", "date_format", "日期格式无法识别", "unrecognised date")
    items = [
        BatchItem(1, 2, "", fields, (), {"invoice_number": "12345678"}),
        BatchItem(2, 3, "", None, (problem,), {"invoice_number": "87654321", "issue_date": "20261340"}),
        BatchItem(3, 4, "", fields, (), {"invoice_number": "12345678"}),
    ]
    assert batches.save_items(engine, "acme", batch_id, reversed(items)) == 3
    rejected = batches.rejections(engine, "acme", batch_id, 10)
    assert [(r["batch_row"], list(r["problem_codes"])) for r in rejected] == [(2, ["date_format"])]
    assert list(rejected[0]["problem_messages_zh"]) == ["日期格式无法识别"]

    invoice = issued(number="55500002")
    request = check_of(invoice).model_copy(
        update={"org_id": "acme", "batch_id": batch_id, "batch_row": 3, "check_id": check_id_of(batch_id, 3)}
    )
    entry = register.apply_issued(None, invoice)
    decision = decide(request, entry, request.requested_at.date(), now=now, sync_window=timedelta(days=1))
    result = build_result(request, decision, decided_at=now, check_count=1)
    engine.insert(results_table.TABLE, results_table.COLUMNS, [results_table.result_row(result)] * 2)
    since = now.date()
    assert batches.verdict_counts(engine, "acme", batch_id, since) == {result.verdict.value: 1}
    assert batches.verdict_counts(engine, "other-org", batch_id, since) == {}
    assert batches.verdict_counts(engine, "acme", batch_id, date(2026, 11, 26)) == {}  # requested before

    page = batches.merge_page(
        batches.items_page(engine, "acme", batch_id, 1, 3),
        batches.results_page(engine, "acme", batch_id, since, 1, 3),
    )
    assert [p["batch_row"] for p in page] == [1, 2, 3]
    assert (
        page[0]["result"] is None
        and page[1]["check_id"] == ""
        and page[2]["result"]["verdict"] == "consistent"
    )
    assert page[0]["check_id"] == str(check_id_of(batch_id, 1))

    # 人工复核: a corrected row goes back into its batch, even one whose item was stored in an earlier month
    old = BatchItem(4, 5, "", None, (problem,), {"invoice_number": "1234567O"})
    engine.insert(
        batches.ITEMS,
        (*batches.ITEM_COLUMNS, "created_at"),
        [(*batches.item_row("acme", batch_id, old), datetime(2026, 10, 31, 23, 0, tzinfo=UTC))],
    )
    batches.save_batch(engine, batches.BatchRecord(**{**final.__dict__, "total_rows": 4, "rejected": 2}))
    later = now + timedelta(minutes=5)
    for row, line in ((2, 3), (4, 5)):
        corrected = BatchItem(
            row, line, "", fields, (), {"invoice_number": "12345678", "issue_date": "2026-11-20"}
        )
        assert batches.resubmit(engine, "other-org", batch_id, corrected, later) is None
        put_back = batches.resubmit(engine, "acme", batch_id, corrected, later)
        assert put_back is not None
    assert (put_back.total_rows, put_back.accepted, put_back.rejected, put_back.version) == (4, 4, 0, 6)
    assert batches.resubmit(engine, "acme", batch_id, BatchItem(9, 0, "", fields), later) is None  # no row 9
    # a slower resubmission that counted fewer rows lands last: the higher version still wins
    batches.save_batch(
        engine, batches.BatchRecord(**{**put_back.__dict__, "version": 5, "accepted": 3, "rejected": 1})
    )
    stored = batches.get_batch(engine, "acme", batch_id)
    assert stored is not None and (stored["accepted"], stored["rejected"]) == (4, 0)
    assert batches.rejections(engine, "acme", batch_id, 10) == []
    items_now = batches.items_page(engine, "acme", batch_id, 1, 4)
    assert [i["check_id"] for i in items_now] == [str(check_id_of(batch_id, r)) for r in (1, 2, 3, 4)]
    assert [i["issue_date"] for i in items_now][1::2] == ["2026-11-20", "2026-11-20"]
