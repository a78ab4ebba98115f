"""The agents' batch steps (`fapiao.domain.steps`): a batch gives what its events one at a time give, and
the counters, dedupe, holds and follow-ups stay exact inside a batch."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from fapiao.domain import register, steps
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.verification import DAILY_CHECK_LIMIT
from schemas.events import CheckRecheck, CheckRequested, InvoiceIssued, InvoiceStatus, Verdict
from tests.factories import check_of, issued, status_change

RULES = steps.Rules(tz=ZoneInfo("Asia/Shanghai"), sync_window=timedelta(hours=24))
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
TODAY = date(2026, 11, 25)
OLD = issued(number="20000001", issue_date=date(2026, 11, 20))
FRESH = issued(number="20000002", issue_date=TODAY)
DIGITAL = issued(fplx="32", code="", number="26322000000000000009", issue_date=TODAY)


def key(invoice: InvoiceIssued) -> str:
    return invoice_key(invoice.invoice_code, invoice.invoice_number)


def ask(request: CheckRequested, reason: str = "refresh", at: datetime = NOW) -> CheckRecheck:
    return CheckRecheck(
        check_id=request.check_id,
        invoice_key=invoice_key(request.invoice_code, request.invoice_number),
        reason=reason,  # type: ignore[arg-type]
        requested_at=at,
    )


def summary(answers: list[steps.Answer]) -> list[tuple[str, str, int, int, bool]]:
    return [
        (str(a.request.check_id), a.decision.verdict.value, a.number, a.version, a.follow_up) for a in answers
    ]


# --- answer_checks ---------------------------------------------------------------------------------


def test_checks_of_one_invoice_in_one_batch_count_1_to_5_then_the_limit() -> None:
    entries = {key(OLD): register.apply_issued(None, OLD)}
    requests = [check_of(OLD, requested_at=NOW + timedelta(seconds=i)) for i in range(DAILY_CHECK_LIMIT + 2)]
    out = steps.answer_checks(entries, requests, NOW, RULES)
    assert [a.number for a in out.answers] == [1, 2, 3, 4, 5, 5, 5]
    assert [a.decision.verdict for a in out.answers] == [Verdict.CONSISTENT] * 5 + [
        Verdict.LIMIT_EXCEEDED
    ] * 2
    assert list(out.entries) == [key(OLD)]  # one write for the batch
    stored = out.entries[key(OLD)]
    assert stored["checks_total"] == 5 and stored["checks_today"] == 5
    assert [c["number"] for c in stored["checks"]] == [1, 2, 3, 4, 5]


def test_each_answer_carries_the_entry_before_its_check() -> None:
    entries = {key(OLD): register.apply_issued(None, OLD)}
    first, second = check_of(OLD), check_of(OLD)
    out = steps.answer_checks(entries, [first, second], NOW, RULES)
    assert out.answers[0].entry == entries[key(OLD)]
    assert out.answers[1].entry is not None
    assert [c["check_id"] for c in out.answers[1].entry["checks"]] == [str(first.check_id)]


def test_a_redelivered_check_in_the_same_batch_is_answered_again_and_counted_once() -> None:
    entries = {key(OLD): register.apply_issued(None, OLD)}
    request = check_of(OLD)
    out = steps.answer_checks(entries, [request, request, check_of(OLD)], NOW, RULES)
    assert [(a.number, a.version) for a in out.answers] == [(1, 1), (1, 1), (2, 1)]
    assert out.entries[key(OLD)]["checks_total"] == 2


def test_a_redelivery_in_a_later_batch_is_not_counted() -> None:
    request = check_of(OLD)
    first = steps.answer_checks({key(OLD): register.apply_issued(None, OLD)}, [request], NOW, RULES)
    again = steps.answer_checks(first.entries, [request], NOW + timedelta(minutes=1), RULES)
    assert again.entries == {}  # nothing to write
    assert summary(again.answers) == summary(first.answers)


def test_an_invalid_or_too_old_check_is_not_counted_and_writes_nothing() -> None:
    ancient = issued(number="20000003", issue_date=date(2020, 1, 2))
    bad = check_of(OLD, issue_date=TODAY + timedelta(days=3))  # dated in the future
    out = steps.answer_checks({}, [check_of(ancient), bad], NOW, RULES)
    assert [a.decision.verdict for a in out.answers] == [Verdict.TOO_OLD, Verdict.INVALID]
    assert [a.number for a in out.answers] == [0, 0]
    assert out.entries == {}


def test_a_missing_fresh_invoice_is_held_and_a_refresh_re_answers_it_with_a_new_version() -> None:
    request = check_of(FRESH)
    out = steps.answer_checks({}, [request, ask(request)], NOW, RULES)
    assert summary(out.answers) == [
        (str(request.check_id), "pending_sync", 1, 1, False),
        (str(request.check_id), "pending_sync", 1, 2, True),
    ]
    assert out.entries[key(FRESH)]["checks"][0]["version"] == 2


def test_a_sync_timeout_turns_a_hold_into_not_found() -> None:
    request = check_of(FRESH)
    held = steps.answer_checks({}, [request], NOW, RULES)
    later = NOW + RULES.sync_window
    out = steps.answer_checks(held.entries, [ask(request, "sync_timeout", later)], later, RULES)
    assert summary(out.answers) == [(str(request.check_id), "not_found", 1, 2, True)]


def test_an_unchanged_timeout_gives_nothing_and_an_unknown_recheck_is_reported() -> None:
    request = check_of(OLD)
    done = steps.answer_checks({key(OLD): register.apply_issued(None, OLD)}, [request], NOW, RULES)
    stranger = ask(check_of(OLD))
    out = steps.answer_checks(done.entries, [ask(request, "sync_timeout"), stranger], NOW, RULES)
    assert out.answers == [] and out.entries == {}
    assert out.unknown == [stranger]


def test_the_entries_given_are_not_mutated() -> None:
    entries = {key(OLD): register.apply_issued(None, OLD)}
    before = copy.deepcopy(entries)
    steps.answer_checks(entries, [check_of(OLD), check_of(OLD)], NOW, RULES)
    assert entries == before


# --- fold_register ---------------------------------------------------------------------------------


def test_a_held_check_is_answered_when_its_issuance_arrives_in_a_batch() -> None:
    request = check_of(FRESH)
    held = steps.answer_checks({}, [request], NOW, RULES)
    out = steps.fold_register(held.entries, [FRESH, FRESH], NOW + timedelta(minutes=1), RULES)
    # one follow-up: the redelivered issuance in the same batch finds the check already answered
    assert summary(out.answers) == [(str(request.check_id), "consistent", 1, 2, True)]
    assert out.answers[0].entry is not None and out.answers[0].entry["invoice"] is not None
    assert [a.activity().kind for a in out.activities] == ["issued", "issued"]
    assert list(out.entries) == [key(FRESH)]


def test_a_void_after_a_consistent_check_gives_a_follow_up_and_a_seller_activity() -> None:
    request = check_of(OLD)
    done = steps.answer_checks({key(OLD): register.apply_issued(None, OLD)}, [request], NOW, RULES)
    voided = status_change(OLD, InvoiceStatus.VOIDED, at=NOW + timedelta(hours=1))
    out = steps.fold_register(done.entries, [voided], NOW + timedelta(hours=1), RULES)
    assert summary(out.answers) == [(str(request.check_id), "voided", 1, 2, True)]
    assert [a.activity().kind for a in out.activities] == ["voided"]
    assert out.entries[key(OLD)]["status"] == "voided"


def test_an_issuance_in_its_stored_form_folds_as_the_model_does() -> None:
    """The register agent folds the bulk feed's payloads read without the model (schemas.stored_issued):
    the same entries, follow-ups and seller activity (to the byte) as the InvoiceIssued they dump from."""
    request = check_of(FRESH)
    held = steps.answer_checks({}, [request], NOW, RULES)
    later = NOW + timedelta(minutes=1)
    seller = DIGITAL.seller.model_copy(update={"tax_id": None})
    nameless = DIGITAL.model_copy(update={"seller": seller, "invoice_number": "26322000000000000010"})
    invoices = [FRESH, OLD, DIGITAL, nameless]
    as_model = steps.fold_register(held.entries, invoices, later, RULES)
    stored = [steps.StoredIssuance(i.model_dump(mode="json")) for i in invoices]
    as_stored = steps.fold_register(held.entries, stored, later, RULES)
    assert as_stored.entries == as_model.entries and len(as_stored.entries) == 4
    assert summary(as_stored.answers) == summary(as_model.answers) != []
    assert [(a.seller_tax_id, a.value) for a in as_stored.activities] == [
        (a.seller_tax_id, a.value) for a in as_model.activities
    ]  # the same bytes on sellers.activity
    assert [a.activity() for a in as_stored.activities] == [a.activity() for a in as_model.activities]
    assert len(as_stored.activities) == 3  # none for the seller without a tax id
    assert [s.key for s in stored] == [key(i) for i in invoices]


def test_fold_register_over_many_invoices_writes_each_once() -> None:
    invoices = [issued(number=f"{30000000 + i:08d}") for i in range(50)]
    out = steps.fold_register({}, invoices + invoices[:10], NOW, RULES)
    assert len(out.entries) == 50 and out.answers == []
    assert all(register.issued_invoice(out.entries[key(i)]) == i for i in invoices)


# --- bounded entries -------------------------------------------------------------------------------


def test_checks_older_than_the_memory_leave_the_entry_but_the_count_goes_on() -> None:
    summer = issued(number="20000004", issue_date=date(2026, 7, 1))
    earlier = NOW - register.REMEMBER_CHECKS_FOR - timedelta(days=1)
    entries: dict[str, register.Entry | None] = {key(summer): register.apply_issued(None, summer)}
    first = steps.answer_checks(entries, [check_of(summer, requested_at=earlier)], earlier, RULES)
    second = steps.answer_checks(first.entries, [check_of(summer, requested_at=NOW)], NOW, RULES)
    stored = second.entries[key(summer)]
    assert [c["number"] for c in stored["checks"]] == [2]  # the first is forgotten, not renumbered
    assert stored["checks_total"] == 2 and second.answers[0].number == 2


def test_a_held_check_is_remembered_whatever_its_age() -> None:
    hold = {
        "check_id": str(uuid.uuid4()),
        "requester": "r",
        "number": 1,
        "version": 1,
        "verdict": "pending_sync",
        "request": {"requested_at": "2026-01-01T00:00:00+00:00"},
    }
    old = {**hold, "check_id": str(uuid.uuid4()), "verdict": "consistent"}
    entry = register.remember_check(register.remember_check(None, hold), old)
    pruned = register.prune_checks(entry, NOW)
    assert pruned is not None and pruned["checks"] == [hold]
    assert register.prune_checks(pruned, NOW) is pruned  # nothing more to drop: the same entry


def test_an_invoice_past_the_five_year_window_expires() -> None:
    entry = register.apply_issued(None, issued(issue_date=date(2021, 11, 25)))
    assert not register.is_expired(entry, date(2026, 11, 25))  # the anniversary is still in time
    assert register.is_expired(entry, date(2026, 11, 26))
    assert not register.is_expired(None, TODAY)
    assert not register.is_expired(register.count_check(None, TODAY), TODAY)  # no issue date: kept


# --- a batch equals its events one at a time -------------------------------------------------------

_INVOICES = [OLD, FRESH, DIGITAL]


@st.composite
def _events(draw: st.DrawFn) -> list[object]:
    """A history of checks, redeliveries, refreshes, issuances and status changes of three invoices."""
    made: list[object] = []
    requests: list[CheckRequested] = []
    for step in range(draw(st.integers(1, 25))):
        at = NOW + timedelta(minutes=step)
        kind = draw(st.sampled_from(["check", "check", "check", "again", "refresh", "issue", "status"]))
        invoice = draw(st.sampled_from(_INVOICES))
        if kind == "check" or (kind in ("again", "refresh") and not requests):
            request = check_of(invoice, requested_at=at)
            requests.append(request)
            made.append(request)
        elif kind == "again":
            made.append(draw(st.sampled_from(requests)))
        elif kind == "refresh":
            made.append(ask(draw(st.sampled_from(requests)), at=at))
        elif kind == "issue":
            made.append(invoice)
        else:
            status = draw(st.sampled_from(list(InvoiceStatus)))
            made.append(status_change(invoice, status, at=at))
    return made


def _is_check(event: object) -> bool:
    return isinstance(event, CheckRequested | CheckRecheck)


def _run(
    events: list[object], cuts: list[int]
) -> tuple[list[tuple[str, str, int, int, bool]], dict[str, object]]:
    """Feed `events` in batches cut at `cuts` and wherever the kind changes (each agent sees only its own
    topics), threading the table through."""
    table: dict[str, register.Entry | None] = {}
    answers: list[steps.Answer] = []
    batches: list[list[object]] = []
    for i, event in enumerate(events):
        if not batches or i in cuts or _is_check(batches[-1][0]) != _is_check(event):
            batches.append([event])
        else:
            batches[-1].append(event)
    for batch in batches:
        if _is_check(batch[0]):
            out = steps.answer_checks(table, batch, NOW, RULES)  # type: ignore[arg-type]
        else:
            out = steps.fold_register(table, batch, NOW, RULES)  # type: ignore[arg-type]
        table.update(out.entries)
        answers.extend(out.answers)
    return summary(answers), dict(table)


@settings(max_examples=150, deadline=None)
@given(_events(), st.lists(st.integers(0, 25), max_size=6))
def test_a_batch_gives_what_its_events_one_at_a_time_give(events: list[object], cuts: list[int]) -> None:
    one_by_one = _run(events, list(range(len(events))))
    batched = _run(events, cuts)
    assert batched == one_by_one
    for entry in one_by_one[1].values():  # 第N次查验 of each invoice: 1, 2, 3 … with no gap
        assert isinstance(entry, dict)
        assert sorted(c["number"] for c in entry["checks"]) == list(range(1, entry["checks_total"] + 1))
        assert entry["checks_today"] <= DAILY_CHECK_LIMIT
