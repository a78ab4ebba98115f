"""The demo feed: deterministic, schema-valid, identifiers valid per the parsers, amounts to the cent,
labels in plausible proportions, and every labelled check really is what its label says."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from fapiao import topics
from fapiao.demo import LABELS, DemoEvent, DemoFeed
from fapiao.demo.entities import build_directory
from fapiao.domain import register
from fapiao.domain.invoice_codes import fplx_from_code, parse_invoice_code
from fapiao.domain.invoice_numbers import is_valid_paper_number, parse_digital_number
from fapiao.domain.invoice_types import INVOICE_TYPES, invoice_key
from fapiao.domain.regions import BEIJING_DISTRICTS
from fapiao.domain.request_rules import request_problems
from fapiao.domain.taxpayer_id import parse_tax_id
from fapiao.domain.verification import decide
from schemas.events import CheckRequested, InvoiceIssued, InvoiceStatus, InvoiceStatusChanged, Verdict

START = datetime(2025, 6, 16, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
CST_OFFSET = timedelta(hours=8)
GENERATED_TYPES = {"01", "03", "04", "08", "10", "11", "14", "15", "31", "32"}
# Which invoice value a check of each type gives (DOMAIN.md §1), written out independently of the code.
FOURTH: dict[str, str] = {
    "01": "amount",
    "03": "amount",
    "08": "amount",
    "15": "total",
    "31": "total",
    "32": "total",
    "04": "check_code",
    "10": "check_code",
    "11": "check_code",
    "14": "check_code",
}


def _history(seed: int) -> tuple[list[DemoEvent], list[DemoEvent], list[DemoEvent]]:
    feed = DemoFeed(seed, START)
    return feed.issue(1500), feed.status_changes(0.06), feed.checks(2000)


@pytest.fixture(scope="module")
def history() -> tuple[list[DemoEvent], list[DemoEvent], list[DemoEvent]]:
    return _history(42)


@pytest.fixture(scope="module")
def issued(history: tuple[list[DemoEvent], ...]) -> dict[str, InvoiceIssued]:
    out = {}
    for event in history[0]:
        assert isinstance(event.value, InvoiceIssued)
        out[event.key] = event.value
    return out


def _fourth_value(invoice: InvoiceIssued) -> tuple[Decimal | None, str | None]:
    kind = FOURTH[invoice.fplx]
    if kind == "check_code":
        return None, invoice.check_code[-6:]
    return (invoice.amount if kind == "amount" else invoice.total), None


def _dump(events: list[DemoEvent]) -> list[tuple[str, str, str, str | None]]:
    return [(e.topic, e.key, e.value.model_dump_json(), e.label) for e in events]


def test_same_seed_same_events_and_other_seed_other_events() -> None:
    a, b = DemoFeed(3, START), DemoFeed(3, START)
    first = a.history(300, 300) + list(itertools.islice(a.stream(), 300))
    second = b.history(300, 300) + list(itertools.islice(b.stream(), 300))
    assert _dump(first) == _dump(second)
    other = DemoFeed(4, START).history(300, 300)
    assert _dump(other) != _dump(first[: len(other)])


def test_every_event_round_trips_through_its_topic_schema(history: tuple[list[DemoEvent], ...]) -> None:
    for event in itertools.chain(*history):
        schema = topics.BY_NAME[event.topic].schema
        assert type(event.value) is schema
        assert schema.model_validate_json(event.value.model_dump_json()) == event.value
        assert (event.label is not None) == (event.topic == topics.CHECKS_REQUESTED.name)
        assert event.label is None or event.label in LABELS
        assert "label" not in event.value.model_dump()
        number = event.value.invoice_number  # type: ignore[attr-defined]
        assert event.key == invoice_key(event.value.invoice_code, number)  # type: ignore[attr-defined]
        assert event.at.utcoffset() == CST_OFFSET


def test_codes_numbers_and_tax_ids_are_valid(issued: dict[str, InvoiceIssued]) -> None:
    today = START.date()
    assert {inv.fplx for inv in issued.values()} == GENERATED_TYPES
    for inv in issued.values():
        if INVOICE_TYPES[inv.fplx].digital:
            assert inv.invoice_code == "" and inv.check_code == ""
            info = parse_digital_number(inv.invoice_number, today)
            assert info.valid and info.province == "11" and info.year == inv.issue_date.year
        else:
            code = parse_invoice_code(inv.invoice_code, today)
            assert code.valid and code.fplx == inv.fplx and code.region == "1100", code
            assert is_valid_paper_number(inv.invoice_number)
            assert len(inv.check_code) == 20 and inv.check_code.isdigit()
        for party in (inv.seller, inv.buyer):
            if party.tax_id is not None:
                tax_id = parse_tax_id(party.tax_id)
                assert tax_id.valid and tax_id.division in BEIJING_DISTRICTS, party
        assert inv.seller.tax_id is not None
        if inv.fplx in ("01", "08", "31"):  # 专票 go to companies only
            assert inv.buyer.tax_id is not None


def test_directory_has_distinct_valid_beijing_taxpayers() -> None:
    directory = build_directory()
    assert len(directory.sellers) >= 40 and len(directory.companies) >= 60 and directory.individuals
    tax_ids = [s.tax_id for s in directory.sellers] + [b.tax_id for b in directory.companies]

    assert len(set(tax_ids)) == len(tax_ids)
    assert all(parse_tax_id(t).valid for t in tax_ids if t)
    assert len({s.name for s in directory.sellers}) == len(directory.sellers)


def test_amounts_are_consistent_to_the_cent(issued: dict[str, InvoiceIssued]) -> None:
    cent = Decimal("0.01")
    for inv in issued.values():
        assert inv.lines
        for line in inv.lines:
            assert line.tax == (line.amount * line.tax_rate).quantize(cent, ROUND_HALF_UP)
            assert line.amount > 0
            if line.quantity is not None:
                assert line.unit_price is not None and line.quantity * line.unit_price == line.amount
        assert inv.amount == sum(line.amount for line in inv.lines)
        assert inv.tax == sum(line.tax for line in inv.lines)
        assert inv.total == inv.amount + inv.tax


def test_issue_times_fall_in_business_hours_of_the_last_60_days(history: tuple[list[DemoEvent], ...]) -> None:
    profiles = {s.tax_id: s.profile for s in build_directory().sellers}
    local_start = START + CST_OFFSET
    for event in history[0]:
        inv = event.value
        assert isinstance(inv, InvoiceIssued)
        assert inv.seller.tax_id is not None
        profile = profiles[inv.seller.tax_id]
        assert inv.issued_at < START and inv.issued_at > START - timedelta(days=61)
        assert profile.open_at(inv.issued_at.hour, inv.issued_at.weekday())
        assert inv.issue_date == inv.issued_at.date() <= local_start.date()
    times = [e.at for e in history[0]]
    assert times == sorted(times)


def test_each_label_appears_in_plausible_proportions(history: tuple[list[DemoEvent], ...]) -> None:
    checks = history[2]
    assert len(checks) == 2000
    share = {label: n / len(checks) for label, n in Counter(e.label for e in checks).items()}
    assert set(share) == set(LABELS)
    assert 0.68 <= share["genuine"] <= 0.82, share
    for label in LABELS:
        if label != "genuine":
            assert 0.005 <= share[label] <= 0.08, (label, share)


def test_checks_are_well_formed_requests(history: tuple[list[DemoEvent], ...]) -> None:
    for event in history[2]:
        check = event.value
        assert isinstance(check, CheckRequested)
        assert check.channel == "demo" and check.requested_at <= START
        problems = request_problems(
            check.invoice_code,
            check.invoice_number,
            check.issue_date,
            check.amount,
            check.check_code,
            check.requested_at.date(),
        )
        assert problems == (), (event.label, check, problems)
    ids = [e.value.check_id for e in history[2]]  # type: ignore[attr-defined]
    assert len(set(ids)) == len(ids)


def test_labelled_checks_differ_from_the_invoice_only_where_the_label_says(
    history: tuple[list[DemoEvent], ...], issued: dict[str, InvoiceIssued]
) -> None:
    statuses = {e.key: e.value for e in history[1] if isinstance(e.value, InvoiceStatusChanged)}
    for event in history[2]:
        if event.label == "fake":
            continue
        check = event.value
        assert isinstance(check, CheckRequested)
        inv = issued[event.key]
        true_amount, true_code = _fourth_value(inv)
        date_differs = check.issue_date != inv.issue_date
        amount_differs = check.amount != true_amount
        code_differs = check.check_code != true_code
        assert (check.amount is None) == (true_amount is None)  # the right fourth field for the type
        differing = {
            f for f, d in (("date", date_differs), ("amount", amount_differs), ("code", code_differs)) if d
        }
        expected = {
            "tampered_amount": {"amount"},
            "tampered_date": {"date"},
            "tampered_check_code": {"code"},
        }.get(event.label or "", set())
        if event.label == "repeated_tampering":
            assert len(differing) == 1, (check, inv)
        else:
            assert differing == expected, (event.label, check, inv)
        change = statuses.get(event.key)
        if event.label == "voided":
            assert change is not None and change.status is InvoiceStatus.VOIDED
            assert change.changed_at < check.requested_at
        elif event.label == "red_flushed":
            assert change is not None and change.status.value.startswith("red_flushed")
            assert change.changed_at < check.requested_at
        else:
            assert change is None or change.changed_at > check.requested_at


def test_fourth_field_is_the_right_one_per_type(
    history: tuple[list[DemoEvent], ...], issued: dict[str, InvoiceIssued]
) -> None:
    seen = set()
    for event in history[2]:
        check = event.value
        assert isinstance(check, CheckRequested)
        if event.label == "genuine":
            inv = issued[event.key]
            assert (check.amount, check.check_code) == _fourth_value(inv)
            seen.add(inv.fplx)
        fplx = fplx_from_code(check.invoice_code) if check.invoice_code else "32"
        if FOURTH[fplx] == "check_code":
            assert check.amount is None and check.check_code is not None and len(check.check_code) == 6
        else:
            assert check.check_code is None and check.amount is not None and check.amount > 0
    assert seen == GENERATED_TYPES


def test_fakes_are_never_issued_and_look_valid(history: tuple[list[DemoEvent], ...]) -> None:
    feed = DemoFeed(42, START)
    feed.issue(1500)
    feed.status_changes(0.06)
    fakes = {e.key for e in feed.checks(2000) if e.label == "fake"}
    later = {e.key for e in feed.issue(3000)}  # later issuance never takes a fake's number
    issued_keys = set(feed.invoices)
    assert fakes and not fakes & issued_keys and not fakes & later
    for event in history[2]:
        if event.label == "fake":
            check = event.value
            assert isinstance(check, CheckRequested)
            if check.invoice_code:
                assert parse_invoice_code(check.invoice_code, check.issue_date).valid
            else:
                assert parse_digital_number(check.invoice_number, check.issue_date).valid


def test_duplicates_and_repeated_tampering_involve_several_checks(
    history: tuple[list[DemoEvent], ...],
) -> None:
    by_key: dict[str, list[DemoEvent]] = defaultdict(list)
    for event in history[2]:
        by_key[event.key].append(event)
    for key, events in by_key.items():
        labels = [e.label for e in events]
        consistent = [e for e in events if e.label in ("genuine", "duplicate_reimbursement")]
        for dup in (e for e in events if e.label == "duplicate_reimbursement"):
            # someone else checked (reimbursed) the same invoice before
            assert any(
                e.at <= dup.at and e.value.requester != dup.value.requester  # type: ignore[attr-defined]
                for e in consistent
            ), key
        if "repeated_tampering" in labels:
            assert labels.count("repeated_tampering") >= 3, key


def test_checks_come_after_their_invoice(
    history: tuple[list[DemoEvent], ...], issued: dict[str, InvoiceIssued]
) -> None:
    for event in history[2]:
        if event.label != "fake":
            assert event.at > issued[event.key].issued_at
        assert event.value.issue_date <= event.at.date()  # type: ignore[attr-defined]


def test_status_changes() -> None:
    feed = DemoFeed(5, START)
    issued = {e.key: e.value for e in feed.issue(1000)}
    changes = feed.status_changes(0.1)
    assert 80 <= len(changes) <= 100
    kinds: Counter[InvoiceStatus] = Counter()

    for event in changes:
        change, inv = event.value, issued[event.key]
        assert isinstance(change, InvoiceStatusChanged) and isinstance(inv, InvoiceIssued)
        assert inv.issued_at < change.changed_at <= START
        kinds[change.status] += 1
        assert feed.status(event.key) is change.status
        if change.status is InvoiceStatus.VOIDED:
            assert inv.fplx in ("01", "03", "04", "11", "15")  # only paper invoices are voided
            assert (change.changed_at.year, change.changed_at.month) == (
                inv.issued_at.year,
                inv.issued_at.month,
            )
            assert change.red_flush_amount is None
        elif change.status is InvoiceStatus.RED_FLUSHED_FULL:
            assert change.red_flush_amount == inv.total
        else:
            assert change.red_flush_amount is not None and 0 < change.red_flush_amount < inv.total
    assert set(kinds) == {
        InvoiceStatus.VOIDED,
        InvoiceStatus.RED_FLUSHED_FULL,
        InvoiceStatus.RED_FLUSHED_PARTIAL,
    }


def test_checks_need_invoices() -> None:
    with pytest.raises(ValueError):
        DemoFeed(1, START).checks(5)


def test_stream_interleaves_in_time_order_from_the_clock() -> None:
    feed = DemoFeed(9, START)
    feed.history(500, 200, status_fraction=0.05)
    start = feed.now
    events = list(itertools.islice(feed.stream(rate=20), 5000))
    times = [e.at for e in events]
    assert times == sorted(times) and times[0] >= start
    assert {e.topic for e in events} == {
        t.name for t in (topics.INVOICES_ISSUED, topics.INVOICES_STATUS, topics.CHECKS_REQUESTED)
    }
    span = (times[-1] - times[0]).total_seconds()
    assert 5000 / 20 * 0.7 < span < 5000 / 20 * 1.3  # about `rate` events per simulated second
    labels = Counter(e.label for e in events if e.label)
    assert labels["genuine"] > 0.6 * sum(labels.values()) and len(labels) >= 6
    for event in events:
        assert type(event.value).model_validate_json(event.value.model_dump_json()) == event.value
        if isinstance(event.value, CheckRequested) and event.label not in ("fake", None):
            assert event.key in feed.invoices
    assert feed.now >= times[-1]


def test_naive_start_is_beijing_time() -> None:
    feed = DemoFeed(1, datetime(2025, 6, 16, 10, 0))
    assert feed.now == START
    assert all(e.at < START for e in feed.issue(50))
    assert date(2025, 4, 17) <= min(e.value.issue_date for e in feed.issue(200))  # type: ignore[attr-defined]


def test_labels_agree_with_the_verification_rules() -> None:
    """Replayed in time order through the register and `decide`, each label gets the verdict it stands for."""
    expected = {
        "genuine": {Verdict.CONSISTENT},
        "duplicate_reimbursement": {Verdict.CONSISTENT},
        "tampered_amount": {Verdict.INCONSISTENT},
        "tampered_date": {Verdict.INCONSISTENT},
        "tampered_check_code": {Verdict.INCONSISTENT},
        "repeated_tampering": {Verdict.INCONSISTENT, Verdict.LIMIT_EXCEEDED},
        "voided": {Verdict.VOIDED},
        "red_flushed": {Verdict.RED_FLUSHED_FULL, Verdict.RED_FLUSHED_PARTIAL},
        "fake": {Verdict.NOT_FOUND},
    }
    entries: dict[str, register.Entry] = {}
    for event in DemoFeed(8, START).history(800, 1000, status_fraction=0.06):
        value, entry = event.value, entries.get(event.key)
        if isinstance(value, InvoiceIssued):
            entries[event.key] = register.apply_issued(entry, value)
        elif isinstance(value, InvoiceStatusChanged):
            entries[event.key] = register.apply_status(entry, value)
        else:
            assert isinstance(value, CheckRequested) and event.label is not None
            day = value.requested_at.date()
            decision = decide(value, entry, day, now=value.requested_at, sync_window=timedelta(0))
            if decision.counted:
                entries[event.key] = register.count_check(entry, day)
            assert decision.verdict in expected[event.label], (event.label, decision)
