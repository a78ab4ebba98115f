"""Bounded tables (pure parts): what leaves the register, seller statistics and alert marks
(`fapiao.domain.retention`), and the sync_holds index kept from register entries (`register.held_checks`,
`register.hold_changes`, `rechecks.due_holds`), which the hold sweep reads instead of the register."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fapiao.domain import register, retention
from fapiao.domain.rechecks import due_holds, expired_holds
from fapiao.risk.seller_stats import empty_stats
from tests.factories import check_of, issued
from tests.unit.test_rechecks import FRESH, REQUESTED_AT, WINDOW, answered

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
TODAY = date(2026, 12, 7)


def test_a_register_entry_leaves_after_its_fifth_anniversary_and_not_before() -> None:
    on_time = register.apply_issued(None, issued(number="10000001", issue_date=date(2021, 12, 7)))
    late = register.apply_issued(None, issued(number="10000002", issue_date=date(2021, 12, 6)))
    assert not retention.register_entry_expired(on_time, NOW, TODAY)  # the anniversary is still in time
    assert retention.register_entry_expired(late, NOW, TODAY)
    # an entry whose invoice never arrived has nothing to date it by: kept
    assert not retention.register_entry_expired(register.count_check(None, TODAY), NOW, TODAY)


def test_seller_statistics_leave_after_five_years_without_activity() -> None:
    stats = empty_stats()
    assert not retention.seller_stats_expired(stats, NOW, TODAY)  # never active: kept
    assert not retention.seller_stats_expired({**stats, "last_at": "2021-12-07T10:00:00+08:00"}, NOW, TODAY)
    assert retention.seller_stats_expired({**stats, "last_at": "2021-12-06T10:00:00+08:00"}, NOW, TODAY)
    assert not retention.seller_stats_expired({**stats, "last_at": "not a time"}, NOW, TODAY)


def test_an_alert_mark_leaves_only_once_no_alert_window_can_still_hold_it() -> None:
    longest = retention.ALERT_MARK_KEPT
    assert longest == timedelta(days=366)  # RiskRules.alert_window_seconds' bound
    assert not retention.alert_mark_expired((NOW - longest).isoformat(), NOW, TODAY)
    assert retention.alert_mark_expired((NOW - longest - timedelta(seconds=1)).isoformat(), NOW, TODAY)
    assert not retention.alert_mark_expired("garbage", NOW, TODAY)
    assert not retention.alert_mark_expired("2020-01-01T00:00:00", NOW, TODAY)  # naive: kept


def test_held_checks_are_the_pending_sync_ones_with_their_request_times() -> None:
    held, rec = answered(None, check_of(FRESH, requested_at=REQUESTED_AT))
    assert rec["verdict"] == "pending_sync"
    assert register.held_checks(held) == {rec["check_id"]: rec["request"]["requested_at"]}
    assert register.held_checks(register.apply_issued(None, FRESH)) == {} and register.held_checks(None) == {}


def test_due_holds_from_the_index_agree_with_the_entry() -> None:
    held, _ = answered(None, check_of(FRESH, requested_at=REQUESTED_AT))
    holds = register.held_checks(held)
    for now in (
        REQUESTED_AT + WINDOW - timedelta(seconds=1),
        REQUESTED_AT + WINDOW,
        REQUESTED_AT + 2 * WINDOW,
    ):
        assert due_holds(holds, now=now, sync_window=WINDOW) == expired_holds(
            held, now=now, sync_window=WINDOW
        )
    assert due_holds(holds, now=REQUESTED_AT + WINDOW, sync_window=WINDOW) == list(holds)


def test_hold_changes_give_the_index_writes_of_a_batch() -> None:
    held, rec = answered(None, check_of(FRESH, requested_at=REQUESTED_AT))
    resolved = register.remember_check(held, {**rec, "verdict": "consistent", "version": 2})
    plain = register.apply_issued(None, issued(number="10000009", issue_date=TODAY))
    before = {"a": None, "b": held, "c": None, "d": held}
    after = {"a": held, "b": resolved, "c": plain, "d": held}
    # a: a new hold; b: its hold resolved (tombstone); c: never held (no write); d: unchanged (no write)
    assert register.hold_changes(before, after) == {"a": register.held_checks(held), "b": None}
    assert register.hold_changes({"b": held}, {"b": None}) == {"b": None}  # the entry itself deleted
