"""The register and verify agents' work over a batch of events, as pure functions of data.

An agent reads the entries a batch touches (once each), calls a step, writes back the entries the step
changed (once each) and publishes its outputs in order; nothing here touches Kafka or a table. Events
of one invoice are applied in their order within the batch, each to the entry the previous one left,
so a batch gives exactly what the same events one at a time give: the 5-per-day limit, 第N次查验
numbers, redelivery dedupe (a check already remembered is answered again with its number, version and
result id, and not counted) and follow-ups are the same as event by event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fapiao.domain import register
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.rechecks import FollowUp, follow_ups, recheck, with_records
from fapiao.domain.seller_activity import Told, issued_told, seller_activity
from fapiao.domain.verification import Decision, decide
from schemas.events import CheckRecheck, CheckRequested, InvoiceIssued, InvoiceStatusChanged


@dataclass(frozen=True)
class Rules:
    """What the steps need of the settings."""

    tz: ZoneInfo
    sync_window: timedelta


@dataclass(frozen=True, slots=True)
class StoredIssuance:
    """An issuance already in the register's stored form (`InvoiceIssued.model_dump(mode="json")`):
    what the register agent folds when it read a bulk feed's payload without the model
    (`schemas.stored_issued`), the same as folding the `InvoiceIssued` it dumps from."""

    invoice: dict[str, Any]

    @property
    def key(self) -> str:
        return invoice_key(self.invoice["invoice_code"], self.invoice["invoice_number"])


@dataclass(frozen=True)
class Answer:
    """One verdict to publish. `entry` is the invoice's entry before this check was remembered (the
    check's context: prior checks, requesters)."""

    entry: register.Entry | None
    request: CheckRequested
    decision: Decision
    number: int
    version: int = 1
    follow_up: bool = False


@dataclass
class Outcome:
    """A batch's effect: the entries to write (key -> new entry, each once), the answers in order, and
    for the register fold the seller activity to publish; `unknown` rechecks named no remembered check."""

    entries: dict[str, register.Entry] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    activities: list[Told] = field(default_factory=list)
    unknown: list[CheckRecheck] = field(default_factory=list)

    def add(self, later: Outcome) -> None:
        """Take in the outcome of the events after this one's (their entries win)."""
        self.entries.update(later.entries)
        self.answers += later.answers
        self.activities += later.activities
        self.unknown += later.unknown


def check_record(request: CheckRequested, number: int, decision: Decision) -> dict[str, Any]:
    """What the register remembers of a counted check (enough to answer it again, re-verify it and
    give later checks their context)."""
    return {
        "check_id": str(request.check_id),
        "requester": request.requester,
        "number": number,
        "version": 1,
        "verdict": decision.verdict.value,
        # fields at their defaults are left out (validation restores them): ~30 % of the record
        "request": request.model_dump(mode="json", exclude_defaults=True),
    }


def answer_check(
    entry: register.Entry | None, request: CheckRequested, now: datetime, rules: Rules
) -> tuple[register.Entry | None, Answer]:
    """Answer one check: (the new entry, or None when the entry is unchanged; the answer)."""
    today = request.requested_at.astimezone(rules.tz).date()
    seen = register.find_check(entry, str(request.check_id))
    decision = decide(request, entry, today, now=now, sync_window=rules.sync_window, recheck=seen is not None)
    if seen is not None:  # a redelivery: same number, same version, same result id
        return None, Answer(entry, request, decision, int(seen["number"]), int(seen["version"]))
    if not decision.counted:
        return None, Answer(entry, request, decision, int((entry or {}).get("checks_total", 0)))
    counted = register.count_check(entry, today)
    number = int(counted["checks_total"])
    remembered = register.remember_check(counted, check_record(request, number, decision))
    return register.prune_checks(remembered, now), Answer(entry, request, decision, number)


def re_answer(
    entry: register.Entry | None, ask: CheckRecheck, now: datetime, rules: Rules
) -> tuple[register.Entry | None, Answer | None, bool]:
    """Re-verify one remembered check: (the new entry or None, the follow-up answer or None, whether the
    check was known)."""
    record = register.find_check(entry, str(ask.check_id))
    if record is None:
        return None, None, False
    update = recheck(
        entry, record, now=now, tz=rules.tz, sync_window=rules.sync_window, force=ask.reason == "refresh"
    )
    if update is None:
        return None, None, True
    return register.remember_check(entry, update.record), _follow_up(entry, update), True


def answer_checks(
    entries: Mapping[str, register.Entry | None],
    events: Iterable[CheckRequested | CheckRecheck],
    now: datetime,
    rules: Rules,
) -> Outcome:
    """The verify agent's batch: check requests and rechecks in their order, against `entries` (every
    invoice key the batch names, None for an invoice not in the table)."""
    current = dict(entries)
    out = Outcome()
    for event in events:
        if isinstance(event, CheckRecheck):
            key = event.invoice_key
            new, answer, known = re_answer(current.get(key), event, now, rules)
            if not known:
                out.unknown.append(event)
        else:
            key = invoice_key(event.invoice_code, event.invoice_number)
            new, answer = answer_check(current.get(key), event, now, rules)
        if new is not None:
            current[key] = out.entries[key] = new
        if answer is not None:
            out.answers.append(answer)
    return out


def fold_register(
    entries: Mapping[str, register.Entry | None],
    events: Iterable[InvoiceIssued | InvoiceStatusChanged | StoredIssuance],
    now: datetime,
    rules: Rules,
) -> Outcome:
    """The register agent's batch: each issuance or status change folded into its invoice's entry, the
    follow-up results of the remembered checks whose verdict it changes (their context is the entry after
    the fold, before the follow-ups are stored), and the seller activity it tells."""
    current = dict(entries)
    out = Outcome()
    for event in events:
        told: Told | None
        if isinstance(event, StoredIssuance):
            key = event.key
            entry = register.store_issued(current.get(key), event.invoice)
            told = issued_told(event.invoice)
        else:
            key = invoice_key(event.invoice_code, event.invoice_number)
            if isinstance(event, InvoiceIssued):
                entry = register.apply_issued(current.get(key), event)
                activity = seller_activity(entry, True, event)
            else:
                entry = register.apply_status(current.get(key), event)
                activity = seller_activity(entry, False)
            told = None if activity is None else Told.of(activity)
        updates = follow_ups(entry, now=now, tz=rules.tz, sync_window=rules.sync_window)
        stored = with_records(entry, updates)
        assert stored is not None  # apply_* always returns an entry
        current[key] = out.entries[key] = stored
        out.answers.extend(_follow_up(entry, u) for u in updates)
        if told is not None:
            out.activities.append(told)
    return out


def _follow_up(entry: register.Entry | None, update: FollowUp) -> Answer:
    return Answer(
        entry,
        update.request,
        update.decision,
        int(update.record["number"]),
        int(update.record["version"]),
        follow_up=True,
    )
