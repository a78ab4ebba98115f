"""Folding events into a register entry (`fapiao.domain.register`): pure, order-aware, never mutating."""

from __future__ import annotations

import copy
import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fapiao.domain import register
from schemas.events import InvoiceIssued, InvoiceStatus, InvoiceStatusChanged
from tests.factories import issued, status_change

DAY = date(2026, 11, 25)
T0 = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
SHANGHAI = timezone(timedelta(hours=8))
INVOICE = issued()
DIGITAL = issued(fplx="32", code="", number="26322000000000000001")


def change(
    status: InvoiceStatus, at: datetime, invoice: InvoiceIssued = INVOICE, red: str | None = None
) -> InvoiceStatusChanged:
    event = status_change(invoice, status, at=at)
    return event.model_copy(update={"red_flush_amount": Decimal(red) if red is not None else None})


def record(check_id: str, verdict: str = "consistent", version: int = 1) -> dict[str, Any]:
    return {
        "check_id": check_id,
        "requester": "r",
        "number": 1,
        "version": version,
        "verdict": verdict,
        "request": {"requested_at": "2026-11-25T03:00:00Z"},
    }


# --- empty entry -----------------------------------------------------------------------------------


def test_empty_entry() -> None:
    entry = register.empty_entry()
    assert entry == {
        "invoice": None,
        "status": "normal",
        "status_changed_at": None,
        "red_flush_amount": None,
        "checks_total": 0,
        "checks_day": None,
        "checks_today": 0,
        "checks": [],
    }
    assert register.empty_entry()["checks"] is not entry["checks"]  # no shared mutable default


@pytest.mark.parametrize("entry", [None, {}, register.empty_entry()], ids=["none", "bare", "empty"])
def test_reading_an_empty_entry(entry: register.Entry | None) -> None:
    assert register.issued_invoice(entry) is None
    assert register.status_of(entry) is InvoiceStatus.NORMAL
    assert register.checks_today(entry, DAY) == 0
    assert register.find_check(entry, "x") is None


# --- apply_issued ----------------------------------------------------------------------------------


@pytest.mark.parametrize("invoice", [INVOICE, DIGITAL], ids=["coded", "digital"])
def test_apply_issued_records_the_invoice(invoice: InvoiceIssued) -> None:
    entry = register.apply_issued(None, invoice)
    assert entry["invoice"] == invoice.model_dump(mode="json")
    assert register.issued_invoice(entry) == invoice
    assert register.status_of(entry) is InvoiceStatus.NORMAL
    assert {k: v for k, v in entry.items() if k != "invoice"} == {
        k: v for k, v in register.empty_entry().items() if k != "invoice"
    }


def test_apply_issued_is_idempotent() -> None:
    once = register.apply_issued(None, INVOICE)
    twice = register.apply_issued(once, INVOICE)
    assert twice == once
    assert register.apply_issued(twice, INVOICE) == once


def test_apply_issued_keeps_counts_status_and_checks() -> None:
    entry = register.apply_status(None, change(InvoiceStatus.VOIDED, T0))
    entry = register.count_check(entry, DAY)
    entry = register.remember_check(entry, record("a"))
    after = register.apply_issued(entry, INVOICE)
    assert register.status_of(after) is InvoiceStatus.VOIDED
    assert after["checks_today"] == 1 and after["checks_total"] == 1
    assert register.find_check(after, "a") == record("a")
    assert register.issued_invoice(after) == INVOICE


def test_a_corrected_issuance_replaces_the_earlier_one() -> None:
    entry = register.apply_issued(None, INVOICE)
    corrected = issued(amount="200.00")
    assert register.issued_invoice(register.apply_issued(entry, corrected)) == corrected


def test_a_stored_invoice_is_parsed_once_and_a_new_issuance_is_parsed_again(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    parsed: list[object] = []
    validate = InvoiceIssued.model_validate

    def counting(value: object) -> InvoiceIssued:
        parsed.append(value)
        return validate(value)

    monkeypatch.setattr(register.InvoiceIssued, "model_validate", counting)
    monkeypatch.setattr(register, "_PARSED", type(register._PARSED)())  # nothing parsed by earlier tests
    entry = register.count_check(register.apply_issued(None, INVOICE), DAY)  # a copy keeps the invoice dict
    assert register.issued_invoice(entry) == INVOICE
    assert register.issued_invoice(register.count_check(entry, DAY)) == INVOICE
    assert len(parsed) == 1
    corrected = issued(amount="200.00")
    assert register.issued_invoice(register.apply_issued(entry, corrected)) == corrected
    assert len(parsed) == 2
    # an equal but distinct dict (read back from RocksDB: a new dict every batch) is not parsed again
    assert register.issued_invoice(copy.deepcopy(entry)) == INVOICE
    assert len(parsed) == 2
    # the same event id with other content (a producer's re-issuance) is parsed, never trusted by id
    changed = copy.deepcopy(entry)
    changed["invoice"]["remarks"] = "corrected"
    assert register.issued_invoice(changed) == INVOICE.model_copy(update={"remarks": "corrected"})
    assert len(parsed) == 3
    assert register.issued_invoice(entry) == INVOICE  # and the original again, by content


def test_the_stored_invoice_is_json() -> None:
    stored = register.apply_issued(None, INVOICE)["invoice"]
    assert stored["amount"] == "100.00" and stored["total"] == "113.00"
    assert stored["issue_date"] == "2026-11-20"
    assert isinstance(stored["event_id"], str)


# --- apply_status ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(InvoiceStatus), ids=str)
def test_apply_status_records_the_change(status: InvoiceStatus) -> None:
    entry = register.apply_status(None, change(status, T0))
    assert register.status_of(entry) is status
    assert entry["status_changed_at"] == T0.isoformat()
    assert entry["invoice"] is None  # a status may come before the issuance


def test_red_flush_amount_is_stored_as_a_string_and_cleared_by_a_later_change() -> None:
    entry = register.apply_status(None, change(InvoiceStatus.RED_FLUSHED_PARTIAL, T0, red="30.00"))
    assert entry["red_flush_amount"] == "30.00"
    later = register.apply_status(entry, change(InvoiceStatus.RED_FLUSHED_FULL, T0 + timedelta(hours=1)))
    assert later["red_flush_amount"] is None
    assert register.status_of(later) is InvoiceStatus.RED_FLUSHED_FULL


_SH_0930 = datetime(2026, 11, 21, 9, 30, tzinfo=SHANGHAI)  # 01:30Z, after T0 = 01:00Z
_SH_0830 = datetime(2026, 11, 21, 8, 30, tzinfo=SHANGHAI)  # 00:30Z: before T0 despite the later wall clock
V, A, N = InvoiceStatus.VOIDED, InvoiceStatus.ABNORMAL, InvoiceStatus.NORMAL
PARTIAL, FULL = InvoiceStatus.RED_FLUSHED_PARTIAL, InvoiceStatus.RED_FLUSHED_FULL


@pytest.mark.parametrize(
    ("first", "second", "winner"),
    [
        ((V, T0), (A, T0 + timedelta(seconds=1)), "second"),
        ((V, T0), (A, T0 - timedelta(seconds=1)), "first"),  # an older change arriving late is ignored
        ((FULL, T0), (PARTIAL, T0 - timedelta(days=3)), "first"),
        ((PARTIAL, T0), (FULL, T0 + timedelta(days=3)), "second"),
        ((A, T0), (N, T0 + timedelta(days=1)), "second"),
        ((V, T0), (A, T0), "second"),  # equal instants: the later arrival wins
        ((V, T0), (A, _SH_0930), "second"),  # offsets are compared as instants
        ((V, T0), (A, _SH_0830), "first"),
        ((V, _SH_0830), (A, T0), "second"),
    ],
)
def test_apply_status_ordering(
    first: tuple[InvoiceStatus, datetime], second: tuple[InvoiceStatus, datetime], winner: str
) -> None:
    entry = register.apply_status(None, change(*first))
    entry = register.apply_status(entry, change(*second))
    status, at = first if winner == "first" else second
    assert register.status_of(entry) is status
    assert entry["status_changed_at"] == at.isoformat()


def test_a_late_older_change_leaves_the_red_flush_amount_alone() -> None:
    entry = register.apply_status(None, change(InvoiceStatus.RED_FLUSHED_PARTIAL, T0, red="30.00"))
    late = register.apply_status(
        entry, change(InvoiceStatus.RED_FLUSHED_PARTIAL, T0 - timedelta(1), red="9.99")
    )
    assert late == entry


_STATUSES = st.sampled_from(list(InvoiceStatus))


@given(
    changes=st.lists(
        st.tuples(_STATUSES, st.integers(min_value=0, max_value=10**6)),
        min_size=1,
        max_size=6,
        unique_by=lambda c: c[1],
    ),
    order=st.randoms(use_true_random=False),
)
def test_any_arrival_order_ends_with_the_newest_change(
    changes: list[tuple[InvoiceStatus, int]], order: Any
) -> None:
    events = [change(status, T0 + timedelta(seconds=s)) for status, s in changes]
    order.shuffle(events)
    entry: register.Entry | None = None
    for event in events:
        entry = register.apply_status(entry, event)
    newest = max(events, key=lambda e: e.changed_at)
    assert register.status_of(entry) is newest.status
    assert entry is not None and entry["status_changed_at"] == newest.changed_at.isoformat()


@pytest.mark.parametrize("order", list(itertools.permutations(["issued", "voided", "abnormal"])), ids=str)
def test_issuance_and_status_commute(order: tuple[str, ...]) -> None:
    events = {
        "issued": lambda e: register.apply_issued(e, INVOICE),
        "voided": lambda e: register.apply_status(e, change(InvoiceStatus.VOIDED, T0)),
        "abnormal": lambda e: register.apply_status(e, change(InvoiceStatus.ABNORMAL, T0 + timedelta(1))),
    }
    entry: register.Entry | None = None
    for name in order:
        entry = events[name](entry)
    assert register.issued_invoice(entry) == INVOICE
    assert register.status_of(entry) is InvoiceStatus.ABNORMAL


# --- counting --------------------------------------------------------------------------------------


def test_count_check_counts_per_day() -> None:
    entry: register.Entry | None = None
    for n in range(1, 6):
        entry = register.count_check(entry, DAY)
        assert register.checks_today(entry, DAY) == n
        assert entry["checks_total"] == n
        assert entry["checks_day"] == DAY.isoformat()
    assert register.checks_today(entry, DAY - timedelta(days=1)) == 0
    assert register.checks_today(entry, DAY + timedelta(days=1)) == 0


def test_a_new_day_restarts_the_day_count_but_not_the_total() -> None:
    entry: register.Entry | None = None
    for _ in range(5):
        entry = register.count_check(entry, DAY)
    entry = register.count_check(entry, DAY + timedelta(days=1))
    assert register.checks_today(entry, DAY + timedelta(days=1)) == 1
    assert register.checks_today(entry, DAY) == 0  # only the latest day is kept
    assert entry["checks_total"] == 6


def test_a_late_check_of_an_earlier_day_does_not_reset_todays_count() -> None:
    entry: register.Entry | None = None
    for _ in range(4):
        entry = register.count_check(entry, DAY)
    entry = register.count_check(entry, DAY - timedelta(days=1))  # 23:59:59 yesterday, processed late
    assert entry["checks_total"] == 5
    assert register.checks_today(entry, DAY) == 4


def test_count_check_keeps_the_invoice_and_status() -> None:
    entry = register.apply_status(register.apply_issued(None, INVOICE), change(InvoiceStatus.VOIDED, T0))
    counted = register.count_check(entry, DAY)
    assert register.issued_invoice(counted) == INVOICE
    assert register.status_of(counted) is InvoiceStatus.VOIDED


# --- remembered checks -----------------------------------------------------------------------------


def test_remember_and_find_a_check() -> None:
    entry = register.remember_check(None, record("a"))
    entry = register.remember_check(entry, record("b"))
    assert [c["check_id"] for c in entry["checks"]] == ["a", "b"]
    assert register.find_check(entry, "b") == record("b")
    assert register.find_check(entry, "c") is None


def test_remember_check_replaces_by_id() -> None:
    entry = register.remember_check(None, record("a"))
    entry = register.remember_check(entry, record("b"))
    entry = register.remember_check(entry, record("a", verdict="voided", version=2))
    assert len(entry["checks"]) == 2
    assert register.find_check(entry, "a") == record("a", verdict="voided", version=2)
    assert register.find_check(entry, "b") == record("b")


def test_remembered_checks_are_bounded() -> None:
    limit = register.MAX_REMEMBERED_CHECKS
    entry: register.Entry | None = None
    for n in range(limit + 7):
        entry = register.remember_check(entry, record(f"c{n}"))
    assert entry is not None and len(entry["checks"]) == limit
    assert register.find_check(entry, "c0") is None  # the oldest are dropped first
    assert register.find_check(entry, "c6") is None
    assert register.find_check(entry, "c7") is not None
    assert register.find_check(entry, f"c{limit + 6}") is not None


def test_replacing_a_check_in_a_full_entry_drops_nothing() -> None:
    limit = register.MAX_REMEMBERED_CHECKS
    entry: register.Entry | None = None
    for n in range(limit):
        entry = register.remember_check(entry, record(f"c{n}"))
    entry = register.remember_check(entry, record("c0", version=2))
    assert entry is not None and len(entry["checks"]) == limit
    assert {c["check_id"] for c in entry["checks"]} == {f"c{n}" for n in range(limit)}


def test_find_check_returns_a_copy() -> None:
    entry = register.remember_check(None, record("a"))
    found = register.find_check(entry, "a")
    assert found is not None
    found["verdict"] = "changed"
    assert register.find_check(entry, "a") == record("a")


def test_find_check_by_string_id() -> None:
    check_id = uuid.uuid4()
    entry = register.remember_check(None, record(str(check_id)))
    assert register.find_check(entry, str(check_id)) is not None


# --- purity ----------------------------------------------------------------------------------------

_FOLDS: dict[str, Callable[[register.Entry], Any]] = {
    "apply_issued": lambda e: register.apply_issued(e, issued(amount="1.00")),
    "apply_status": lambda e: register.apply_status(
        e, change(InvoiceStatus.RED_FLUSHED_FULL, T0 + timedelta(9))
    ),
    "apply_status_older": lambda e: register.apply_status(e, change(InvoiceStatus.NORMAL, T0 - timedelta(9))),
    "count_check": lambda e: register.count_check(e, DAY),
    "count_check_new_day": lambda e: register.count_check(e, DAY + timedelta(days=1)),
    "remember_new": lambda e: register.remember_check(e, record("new")),
    "remember_replace": lambda e: register.remember_check(e, record("a", version=5)),
    "find_check": lambda e: register.find_check(e, "a"),
    "checks_today": lambda e: register.checks_today(e, DAY),
    "issued_invoice": register.issued_invoice,
    "status_of": register.status_of,
}


def _busy_entry() -> register.Entry:
    entry = register.apply_issued(None, INVOICE)
    entry = register.apply_status(entry, change(InvoiceStatus.RED_FLUSHED_PARTIAL, T0, red="10.00"))
    entry = register.count_check(register.count_check(entry, DAY), DAY)
    entry = register.remember_check(entry, record("a"))
    return register.remember_check(entry, record("b", verdict="inconsistent"))


@pytest.mark.parametrize("name", _FOLDS)
def test_inputs_are_never_mutated(name: str) -> None:
    entry = _busy_entry()
    before = copy.deepcopy(entry)
    result = _FOLDS[name](entry)
    assert entry == before
    if isinstance(result, dict) and name != "find_check":
        assert result is not entry
        # later folds of the result must not reach back into the input either
        register.remember_check(result, record("later"))
        register.count_check(result, DAY)
        assert entry == before


def test_the_remembered_record_is_not_mutated() -> None:
    rec = record("a")
    before = copy.deepcopy(rec)
    entry = register.remember_check(None, rec)
    register.remember_check(entry, record("a", version=2))
    assert rec == before
