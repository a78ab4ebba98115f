"""The live stream keeps the backlog's rhythm (issue 20): per-seller rates by the hour, checks in
office hours, checks of invoices a reimbursement delay old, `rate` events per second over a week."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from fapiao.demo import DemoFeed
from fapiao.demo.entities import build_directory
from fapiao.demo.generator import CST
from fapiao.demo.rhythm import Rhythm, issue_density, office_density
from schemas.events import CheckRequested, InvoiceIssued

STEPS = 24 * 60  # one-minute steps
RATE = 0.0008  # the backlog's per-entity rates: 2,000 invoices in 60 days, 7,000 events ≈ 100 days


def _day_integral(density: Callable[[float], float]) -> float:
    return sum(density((i + 0.5) / 60) for i in range(STEPS)) / 60


def test_each_density_is_one_day_of_its_events_on_average() -> None:
    for seller in build_directory().sellers:
        profile = seller.profile
        week = [_day_integral(lambda h, w=w, p=profile: issue_density(p, h, w)) for w in range(7)]
        assert sum(week) / 7 == pytest.approx(1.0, abs=0.01), seller.profile.industry
        if seller.profile.weekdays_only:
            assert week[5] == week[6] == 0.0
        low, high = seller.profile.hours
        assert issue_density(seller.profile, low - 0.5, 0) == 0.0 if low > 0 else True
        assert issue_density(seller.profile, high + 0.1, 0) == 0.0 if high < 24 else True
    assert _day_integral(office_density) == pytest.approx(1.0, abs=0.01)
    assert office_density(3.0) == office_density(22.0) == 0.0


def test_the_rhythm_averages_the_rate_over_a_week_and_its_peak_bounds_it() -> None:
    rhythm = Rhythm(build_directory().sellers, 0.01, (0.5, 0.03, 0.47))
    monday = datetime(2026, 6, 1, tzinfo=CST)
    totals = []
    for minute in range(7 * STEPS):
        issue, status, check, weights = rhythm.at(monday + timedelta(minutes=minute, seconds=30))
        total = issue + status + check
        assert total <= rhythm.peak
        assert issue == pytest.approx(0.01 * 24 * 0.5 * sum(weights))
        totals.append(total)
    assert statistics.fmean(totals) == pytest.approx(0.01, rel=0.01)


@pytest.fixture(scope="module")
def feed_week() -> tuple[list, list]:
    feed = DemoFeed(11, datetime(2026, 6, 1, tzinfo=CST))
    backlog = feed.history(2000, 1500)
    live = list(itertools.islice(feed.stream(RATE), 7000))
    return backlog, live


def test_the_live_stream_keeps_the_backlogs_hours_and_rates(feed_week: tuple[list, list]) -> None:
    backlog, live = feed_week
    span = (live[-1].at - live[0].at).total_seconds()
    assert 7000 / RATE * 0.85 < span < 7000 / RATE * 1.15  # a week's average rate
    checks = [e for e in live if isinstance(e.value, CheckRequested)]
    issued = [e for e in live if isinstance(e.value, InvoiceIssued)]
    assert all(8 <= e.at.astimezone(CST).hour < 21 for e in checks if e.label == "genuine")
    assert 0.8 < len(checks) / len(issued) < 1.3  # about as many checks as issuances, as in the backlog
    night = sum(1 for e in issued if e.at.astimezone(CST).hour < 7) / len(issued)
    before = [e for e in backlog if isinstance(e.value, InvoiceIssued)]
    night_before = sum(1 for e in before if e.at.astimezone(CST).hour < 7) / len(before)
    assert night < 2 * night_before + 0.02  # was a third of the stream's issuances
    # each seller's share of the issuances is the backlog's (its activity), not its share of an hour
    share = Counter(e.value.seller.tax_id for e in issued)
    share_before = Counter(e.value.seller.tax_id for e in before)
    for tax_id, count in share_before.most_common(5):
        assert count / len(before) == pytest.approx(share[tax_id] / len(issued), rel=0.35)


def test_a_live_check_presents_an_invoice_a_reimbursement_delay_old(feed_week: tuple[list, list]) -> None:
    backlog, live = feed_week
    issued_at = {e.key: e.value.issued_at for e in backlog + live if isinstance(e.value, InvoiceIssued)}

    def ages(events: list) -> list[float]:
        return [
            (e.at - issued_at[e.key]).total_seconds() / 86_400
            for e in events
            if e.label == "genuine" and e.key in issued_at
        ]

    days, before = ages(live), ages(backlog)
    assert 1.0 < statistics.median(days) < 4.0  # the backlog's median is 2 days
    assert statistics.median(before) == pytest.approx(statistics.median(days), rel=0.5)
    late, late_before = (sum(d > 30 for d in x) / len(x) for x in (days, before))
    assert late < max(2 * late_before, 0.02)  # checks came uniformly from every age before


def test_the_live_demos_flat_stream_from_the_real_now_never_runs_ahead_of_its_clock() -> None:
    """`fapiao demo`'s stream (rhythm off) starting at the wall clock: a case's later checks are built
    hours ahead of the real clock and must not be refused as a producer's clock bug; every event is
    yielded once its time has come, and checks come at any hour."""
    feed = DemoFeed(7, datetime.now(CST) - timedelta(minutes=5))
    events = list(itertools.islice(feed.stream(20.0, rhythm=False), 12_000))
    assert all(e.at <= feed.now for e in events)
    assert sum(isinstance(e.value, CheckRequested) for e in events) > 4_000
    night = DemoFeed(7, datetime(2026, 6, 2, 1, 0, tzinfo=CST))
    hours = Counter(e.at.hour for e in itertools.islice(night.stream(5.0, rhythm=False), 5_000))
    assert hours[1] + hours[2] > 0 and set(hours) <= {1, 2, 3, 4}
