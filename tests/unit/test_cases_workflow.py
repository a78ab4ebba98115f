"""The case workflow, the inbox cursor and the export rows (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fapiao.cases.export import ALERT_COLUMNS, alert_values, neutralise
from fapiao.cases.inbox import Cursor, CursorError, InboxFilters, inbox_sql
from fapiao.cases.workflow import STATUSES, decision_of, is_label, may_move


def test_the_workflow_goes_through_review_and_may_be_reopened() -> None:
    assert may_move("new", "in_review") and may_move("new", "dismissed")
    assert not may_move("new", "confirmed_fraud")  # a confirmation needs a review first
    assert all(may_move("in_review", s) for s in ("confirmed_fraud", "confirmed_error", "dismissed"))
    assert not may_move("in_review", "new") and not may_move("dismissed", "confirmed_fraud")
    assert all(may_move(s, s) for s in STATUSES)
    assert decision_of("in_review", "confirmed_error") == "confirmed_error"
    assert decision_of("confirmed_fraud", "in_review") == "reopened"
    assert decision_of("new", "in_review") is None and decision_of("dismissed", "dismissed") is None
    assert (is_label("confirmed_fraud"), is_label("dismissed"), is_label("reopened")) == (True, False, None)


def test_a_cursor_is_bound_to_its_filters() -> None:
    at = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    mine = InboxFilters(severities=("high",))
    text = Cursor(at, "a-1").encode(mine.fingerprint())
    assert Cursor.decode(text, mine.fingerprint()) == Cursor(at, "a-1")
    same = InboxFilters(severities=("high",), alert_ids=("x",))  # derived ids do not change it
    assert Cursor.decode(text, same.fingerprint()).alert_id == "a-1"
    with pytest.raises(CursorError):
        Cursor.decode(text, InboxFilters().fingerprint())
    with pytest.raises(CursorError):
        Cursor.decode("not-a-cursor", mine.fingerprint())
    with pytest.raises(CursorError):  # a forged one, outside what ClickHouse can compare
        Cursor.decode(
            Cursor(datetime(999, 1, 1, tzinfo=UTC), "a").encode(mine.fingerprint()), mine.fingerprint()
        )


def test_the_inbox_query_binds_every_value() -> None:
    hostile = "x' OR 1=1 --"
    sql, params = inbox_sql("acme", InboxFilters(reasons=(hostile,), seller_refs=(hostile,)), None, 10)
    assert hostile not in sql and params["reasons"] == [hostile]
    sql, _ = inbox_sql("acme", InboxFilters(alert_ids=()), None, 10)
    assert " AND 0 " in sql  # no case matches: no alert, not every alert


def test_exports_neutralise_formulas_and_use_beijing_time() -> None:
    assert neutralise("=1+1") == "'=1+1" and neutralise("-2") == "'-2" and neutralise("@x") == "'@x"
    assert neutralise("011002300111-12345678") == "011002300111-12345678" and neutralise(5) == 5
    item = {
        "alert_id": "a",
        "check_id": "c",
        "invoice_key": "k",
        "seller_tax_id": "=cmd|' /C calc'!A0",
        "raised_at": datetime(2026, 12, 1, 16, 30, tzinfo=UTC),
        "score": 90,
        "severity": "high",
        "reasons": ["duplicate_reimbursement", "seller_burst"],
        "case": {"status": "dismissed", "assignee": None, "due_at": None},
    }
    row = dict(zip([k for k, _ in ALERT_COLUMNS], alert_values(item), strict=True))
    assert row["seller_tax_id"].startswith("'=") and row["status_zh"] == "误报"
    assert (
        row["raised_at"] == datetime(2026, 12, 2, 0, 30)
        and row["reasons"] == "duplicate_reimbursement;seller_burst"
    )
