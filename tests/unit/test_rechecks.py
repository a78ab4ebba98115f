"""Re-verifying remembered checks (`fapiao.domain.rechecks`): late issuance, status changes, timeouts."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fapiao.domain import register
from fapiao.domain.rechecks import FollowUp, expired_holds, follow_ups, recheck, with_records
from fapiao.domain.verification import DAILY_CHECK_LIMIT, awaiting_sync, decide
from schemas.events import CheckRequested, InvoiceIssued, InvoiceStatus, Verdict
from tests.factories import check_of, issued, status_change

SHANGHAI = ZoneInfo("Asia/Shanghai")
WINDOW = timedelta(hours=24)
REQUESTED_AT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 2026-11-25 11:00 in Shanghai
TODAY = date(2026, 11, 25)
OLD = issued(number="10000001", issue_date=date(2026, 11, 20))  # in the register for days
FRESH = issued(number="10000002", issue_date=TODAY)  # issued today: may still be syncing
DIGITAL = issued(fplx="32", code="", number="26322000000000000003", issue_date=TODAY)
STATUS_VERDICTS = {
    InvoiceStatus.VOIDED: Verdict.VOIDED,
    InvoiceStatus.RED_FLUSHED_PARTIAL: Verdict.RED_FLUSHED_PARTIAL,
    InvoiceStatus.RED_FLUSHED_FULL: Verdict.RED_FLUSHED_FULL,
    InvoiceStatus.ABNORMAL: Verdict.ABNORMAL,
}


def answered(
    entry: register.Entry | None, request: CheckRequested, *, now: datetime = REQUESTED_AT
) -> tuple[register.Entry, dict[str, Any]]:
    """What the verify agent does with a first answer: decide, count, remember (returns the record)."""
    today = request.requested_at.astimezone(SHANGHAI).date()
    decision = decide(request, entry, today, now=now, sync_window=WINDOW)
    assert decision.counted
    entry = register.count_check(entry, today)
    rec = {
        "check_id": str(request.check_id),
        "requester": request.requester,
        "number": int(entry["checks_total"]),
        "version": 1,
        "verdict": decision.verdict.value,
        "request": request.model_dump(mode="json"),
    }
    return register.remember_check(entry, rec), rec


def run_recheck(
    entry: register.Entry | None,
    rec: dict[str, Any],
    *,
    now: datetime = REQUESTED_AT + timedelta(minutes=5),
    force: bool = False,
    tz: ZoneInfo = SHANGHAI,
) -> FollowUp | None:
    return recheck(entry, rec, now=now, tz=tz, sync_window=WINDOW, force=force)


def run_follow_ups(entry: register.Entry | None, now: datetime = REQUESTED_AT + timedelta(minutes=5)):  # type: ignore[no-untyped-def]
    return follow_ups(entry, now=now, tz=SHANGHAI, sync_window=WINDOW)


# --- a held check resolved by the late issuance -----------------------------------------------------


@pytest.mark.parametrize("invoice", [FRESH, DIGITAL], ids=["coded", "digital"])
def test_a_held_check_becomes_consistent_when_the_issuance_arrives(invoice: InvoiceIssued) -> None:
    entry, rec = answered(None, check_of(invoice, requested_at=REQUESTED_AT))
    assert rec["verdict"] == "pending_sync"
    entry = register.apply_issued(entry, invoice)
    (update,) = run_follow_ups(entry)
    assert update.decision.verdict is Verdict.CONSISTENT
    assert (
        update.decision.invoice is not None
        and update.decision.invoice.invoice_number == invoice.invoice_number
    )
    assert update.record == {**rec, "verdict": "consistent", "version": 2}
    assert update.request == CheckRequested.model_validate(rec["request"])
    assert update.record["number"] == rec["number"]  # the hold and its answer are one check


def test_a_held_check_that_got_a_field_wrong_becomes_inconsistent() -> None:
    entry, _ = answered(None, check_of(FRESH, requested_at=REQUESTED_AT, check_code="000000"))
    entry = register.apply_issued(entry, FRESH)
    (update,) = run_follow_ups(entry)
    assert update.decision.verdict is Verdict.INCONSISTENT
    assert update.decision.mismatched_fields == ("check_code",)
    assert update.decision.invoice is None
    assert update.record["version"] == 2


def test_a_held_check_of_an_invoice_voided_before_it_was_issued_resolves_to_voided() -> None:
    entry = register.apply_status(None, status_change(FRESH, InvoiceStatus.VOIDED))
    entry, rec = answered(entry, check_of(FRESH, requested_at=REQUESTED_AT))
    assert rec["verdict"] == "pending_sync"
    (update,) = run_follow_ups(register.apply_issued(entry, FRESH))
    assert update.decision.verdict is Verdict.VOIDED


def test_a_held_check_runs_out_to_not_found() -> None:
    entry, rec = answered(None, check_of(FRESH, requested_at=REQUESTED_AT))
    assert run_recheck(entry, rec, now=REQUESTED_AT + WINDOW - timedelta(seconds=1)) is None
    update = run_recheck(entry, rec, now=REQUESTED_AT + WINDOW)
    assert update is not None
    assert update.decision.verdict is Verdict.NOT_FOUND
    assert update.record["verdict"] == "not_found" and update.record["version"] == 2


def test_a_held_check_is_answered_even_after_the_days_limit_is_used_up() -> None:
    entry, _ = answered(None, check_of(FRESH, requested_at=REQUESTED_AT))
    for _ in range(DAILY_CHECK_LIMIT):
        entry = register.count_check(entry, TODAY)
    (update,) = run_follow_ups(register.apply_issued(entry, FRESH))
    assert update.decision.verdict is Verdict.CONSISTENT  # a recheck is not a new check


# --- status changes after a consistent answer -------------------------------------------------------


@pytest.mark.parametrize(("status", "verdict"), STATUS_VERDICTS.items(), ids=str)
def test_a_consistent_check_follows_a_status_change(status: InvoiceStatus, verdict: Verdict) -> None:
    entry, rec = answered(register.apply_issued(None, OLD), check_of(OLD, requested_at=REQUESTED_AT))
    assert rec["verdict"] == "consistent"
    entry = register.apply_status(entry, status_change(OLD, status, at=REQUESTED_AT + timedelta(hours=1)))
    (update,) = run_follow_ups(entry, now=REQUESTED_AT + timedelta(hours=2))
    assert update.decision.verdict is verdict
    assert update.decision.invoice is not None and update.decision.invoice.status is status
    assert update.record == {**rec, "verdict": verdict.value, "version": 2}


def test_partial_then_full_red_flush_gives_two_follow_ups() -> None:
    entry, rec = answered(register.apply_issued(None, OLD), check_of(OLD, requested_at=REQUESTED_AT))
    partial = status_change(OLD, InvoiceStatus.RED_FLUSHED_PARTIAL, at=REQUESTED_AT + timedelta(hours=1))
    entry = register.apply_status(entry, partial)
    (first,) = run_follow_ups(entry)
    stored = with_records(entry, [first])
    assert register.find_check(stored, rec["check_id"]) == first.record
    assert run_follow_ups(stored) == []  # nothing changed since
    full = status_change(OLD, InvoiceStatus.RED_FLUSHED_FULL, at=REQUESTED_AT + timedelta(hours=2))
    (second,) = run_follow_ups(register.apply_status(stored, full))
    assert second.decision.verdict is Verdict.RED_FLUSHED_FULL
    assert second.record["version"] == 3


@pytest.mark.parametrize("status", list(STATUS_VERDICTS), ids=str)
def test_an_inconsistent_check_gets_no_follow_up_after_a_status_change(status: InvoiceStatus) -> None:
    base = register.apply_issued(None, OLD)
    entry, rec = answered(base, check_of(OLD, requested_at=REQUESTED_AT, check_code="000000"))
    assert rec["verdict"] == "inconsistent"
    entry = register.apply_status(entry, status_change(OLD, status, at=REQUESTED_AT + timedelta(hours=1)))
    assert run_follow_ups(entry) == []
    assert run_recheck(entry, rec) is None


def test_only_the_checks_whose_verdict_changes_get_a_follow_up() -> None:
    entry: register.Entry | None = register.apply_issued(None, OLD)
    entry, good = answered(entry, check_of(OLD, requested_at=REQUESTED_AT, requester="a"))
    entry, bad = answered(entry, check_of(OLD, requested_at=REQUESTED_AT, requester="b", check_code="000000"))
    entry, good2 = answered(entry, check_of(OLD, requested_at=REQUESTED_AT, requester="c"))
    assert (good["verdict"], bad["verdict"], good2["verdict"]) == ("consistent", "inconsistent", "consistent")
    entry = register.apply_status(entry, status_change(OLD, InvoiceStatus.VOIDED, at=REQUESTED_AT))
    updates = run_follow_ups(entry)
    assert [u.record["check_id"] for u in updates] == [good["check_id"], good2["check_id"]]
    assert all(u.decision.verdict is Verdict.VOIDED for u in updates)


def test_a_status_change_older_than_the_current_one_gives_no_follow_up() -> None:
    entry = register.apply_issued(None, OLD)
    entry = register.apply_status(entry, status_change(OLD, InvoiceStatus.VOIDED, at=REQUESTED_AT))
    entry, rec = answered(entry, check_of(OLD, requested_at=REQUESTED_AT))
    assert rec["verdict"] == "voided"
    late = status_change(OLD, InvoiceStatus.NORMAL, at=REQUESTED_AT - timedelta(days=1))
    assert run_follow_ups(register.apply_status(entry, late)) == []


# --- unchanged verdicts and force ------------------------------------------------------------------


def test_an_unchanged_verdict_gives_none() -> None:
    entry, rec = answered(register.apply_issued(None, OLD), check_of(OLD, requested_at=REQUESTED_AT))
    assert run_recheck(entry, rec) is None
    assert run_follow_ups(entry) == []


def test_force_re_answers_an_unchanged_verdict_with_a_new_version() -> None:
    entry, rec = answered(register.apply_issued(None, OLD), check_of(OLD, requested_at=REQUESTED_AT))
    update = run_recheck(entry, rec, force=True)
    assert update is not None
    assert update.decision.verdict is Verdict.CONSISTENT
    assert update.record == {**rec, "version": 2}
    again = run_recheck(register.remember_check(entry, update.record), update.record, force=True)
    assert again is not None and again.record["version"] == 3


def test_force_on_a_check_still_held_keeps_it_held() -> None:
    entry, rec = answered(None, check_of(FRESH, requested_at=REQUESTED_AT))
    update = run_recheck(entry, rec, force=True)
    assert update is not None
    assert update.decision.verdict is Verdict.PENDING_SYNC and update.record["version"] == 2


def test_recheck_accepts_a_version_stored_as_a_string() -> None:
    entry, rec = answered(register.apply_issued(None, OLD), check_of(OLD, requested_at=REQUESTED_AT))
    update = run_recheck(entry, {**rec, "version": "4"}, force=True)
    assert update is not None and update.record["version"] == 5


def test_recheck_does_not_mutate_its_inputs() -> None:
    entry, rec = answered(None, check_of(FRESH, requested_at=REQUESTED_AT))
    entry = register.apply_issued(entry, FRESH)
    entry_before, rec_before = copy.deepcopy(entry), copy.deepcopy(rec)
    assert run_recheck(entry, rec) is not None
    assert run_follow_ups(entry)
    assert (entry, rec) == (entry_before, rec_before)


# --- the request's own day, in the configured time zone ---------------------------------------------


def test_recheck_judges_on_the_request_day_in_the_time_zone() -> None:
    # requested at 2026-11-24 17:00Z = 2026-11-25 01:00 in Shanghai, for an invoice dated the 25th
    requested_at = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    request = check_of(FRESH, requested_at=requested_at)
    rec = {
        "check_id": str(request.check_id),
        "requester": request.requester,
        "number": 1,
        "version": 1,
        "verdict": "pending_sync",
        "request": request.model_dump(mode="json"),
    }
    entry = register.apply_issued(None, FRESH)
    in_shanghai = run_recheck(entry, rec, now=requested_at + timedelta(minutes=1))
    assert in_shanghai is not None and in_shanghai.decision.verdict is Verdict.CONSISTENT
    in_utc = run_recheck(entry, rec, now=requested_at + timedelta(minutes=1), tz=ZoneInfo("UTC"))
    assert in_utc is not None and in_utc.decision.verdict is Verdict.INVALID  # the 25th is tomorrow in UTC


def test_recheck_keeps_judging_age_on_the_request_day() -> None:
    # 5 years to the day before the request: still checkable then, whatever `now` is
    old = issued(number="10000009", issue_date=date(2021, 11, 25))
    entry, rec = answered(register.apply_issued(None, old), check_of(old, requested_at=REQUESTED_AT))
    assert rec["verdict"] == "consistent"
    assert run_recheck(entry, rec, now=REQUESTED_AT + timedelta(days=30)) is None


# --- follow_ups / with_records edge cases -----------------------------------------------------------


@pytest.mark.parametrize("entry", [None, {}, register.empty_entry()], ids=["none", "bare", "empty"])
def test_nothing_to_follow_up(entry: register.Entry | None) -> None:
    assert run_follow_ups(entry) == []
    assert expired_holds(entry, now=REQUESTED_AT, sync_window=WINDOW) == []


def test_with_records_stores_each_updated_record() -> None:
    entry: register.Entry | None = register.apply_issued(None, OLD)
    entry, a = answered(entry, check_of(OLD, requested_at=REQUESTED_AT, requester="a"))
    entry, b = answered(entry, check_of(OLD, requested_at=REQUESTED_AT, requester="b"))
    entry = register.apply_status(entry, status_change(OLD, InvoiceStatus.VOIDED, at=REQUESTED_AT))
    before = copy.deepcopy(entry)
    updates = run_follow_ups(entry)
    stored = with_records(entry, updates)
    assert entry == before
    assert stored is not None and len(stored["checks"]) == 2
    for rec in (a, b):
        assert register.find_check(stored, rec["check_id"]) == {**rec, "verdict": "voided", "version": 2}
    assert run_follow_ups(stored) == []  # folded in: no second follow-up for the same change


@pytest.mark.parametrize("entry", [None, register.empty_entry()], ids=["none", "empty"])
def test_with_no_updates_the_entry_is_returned_as_is(entry: register.Entry | None) -> None:
    assert with_records(entry, []) is entry


# --- expired holds -----------------------------------------------------------------------------------


def _held_entry(*elapsed_verdicts: tuple[timedelta, str]) -> tuple[register.Entry, list[dict[str, Any]]]:
    entry: register.Entry | None = None
    records = []
    for n, (offset, verdict) in enumerate(elapsed_verdicts):
        request = check_of(FRESH, requested_at=REQUESTED_AT - offset, requester=f"r{n}")
        rec = {
            "check_id": str(request.check_id),
            "requester": request.requester,
            "number": n + 1,
            "version": 1,
            "verdict": verdict,
            "request": request.model_dump(mode="json"),
        }
        entry = register.remember_check(entry, rec)
        records.append(rec)
    assert entry is not None
    return entry, records


@pytest.mark.parametrize(
    ("age", "expired"),
    [
        (timedelta(0), False),
        (timedelta(hours=23, minutes=59, seconds=59), False),
        (WINDOW, True),  # exactly the window: run out
        (WINDOW + timedelta(seconds=1), True),
        (timedelta(days=10), True),
    ],
)
def test_expired_holds_respect_the_window(age: timedelta, expired: bool) -> None:
    entry, (rec,) = _held_entry((age, "pending_sync"))
    assert expired_holds(entry, now=REQUESTED_AT, sync_window=WINDOW) == (
        [rec["check_id"]] if expired else []
    )
    # the sweep and the decision agree: an expired hold is no longer awaiting its invoice
    request = CheckRequested.model_validate(rec["request"])
    assert awaiting_sync(request, TODAY, now=REQUESTED_AT, sync_window=WINDOW) is not expired


@pytest.mark.parametrize("verdict", [v.value for v in Verdict if v is not Verdict.PENDING_SYNC])
def test_only_pending_sync_checks_are_holds(verdict: str) -> None:
    entry, _ = _held_entry((timedelta(days=3), verdict))
    assert expired_holds(entry, now=REQUESTED_AT, sync_window=WINDOW) == []


def test_expired_holds_lists_every_expired_hold_in_order() -> None:
    entry, recs = _held_entry(
        (timedelta(days=2), "pending_sync"),
        (timedelta(hours=1), "pending_sync"),
        (timedelta(days=3), "consistent"),
        (timedelta(hours=30), "pending_sync"),
    )
    assert expired_holds(entry, now=REQUESTED_AT, sync_window=WINDOW) == [
        recs[0]["check_id"],
        recs[3]["check_id"],
    ]
    short = timedelta(minutes=30)
    assert expired_holds(entry, now=REQUESTED_AT, sync_window=short) == [
        recs[0]["check_id"],
        recs[1]["check_id"],
        recs[3]["check_id"],
    ]


def test_expired_holds_reads_offsets() -> None:
    entry, (rec,) = _held_entry((timedelta(hours=2), "pending_sync"))
    # the same instant written with +08:00 instead of Z
    shifted = copy.deepcopy(rec)
    at = datetime.fromisoformat(rec["request"]["requested_at"]).astimezone(SHANGHAI)
    shifted["request"]["requested_at"] = at.isoformat()
    entry = register.remember_check(entry, shifted)
    assert expired_holds(entry, now=REQUESTED_AT, sync_window=timedelta(hours=2)) == [rec["check_id"]]
    assert expired_holds(entry, now=REQUESTED_AT, sync_window=timedelta(hours=3)) == []
