"""The register entry of one invoice, as held in the worker's register table, and how events fold into it.

Entries are plain JSON-able dicts (the Faust table stores JSON); these functions never mutate their input.
An entry may exist before its issuance event arrives: a status change or a check can come first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from fapiao.domain.request_rules import is_older_than_five_years
from schemas.events import InvoiceIssued, InvoiceStatus, InvoiceStatusChanged

Entry = dict[str, Any]


def empty_entry() -> Entry:
    return {
        "invoice": None,
        "status": InvoiceStatus.NORMAL.value,
        "status_changed_at": None,
        "red_flush_amount": None,
        "checks_total": 0,
        "checks_day": None,
        "checks_today": 0,
        "checks": [],  # remembered checks: check_id, requester, number, version, verdict, request
    }


def apply_issued(entry: Entry | None, event: InvoiceIssued) -> Entry:
    """Record the issued invoice (a redelivered issuance overwrites itself: idempotent)."""
    return store_issued(entry, event.model_dump(mode="json"))


def store_issued(entry: Entry | None, invoice: dict[str, Any]) -> Entry:
    """Record an issued invoice already in its stored form (`InvoiceIssued.model_dump(mode="json")`,
    e.g. read by `schemas.stored_issued` from a bulk feed without the model)."""
    new = dict(entry or empty_entry())
    new["invoice"] = invoice
    return new


def apply_status(entry: Entry | None, event: InvoiceStatusChanged) -> Entry:
    """Record a status change; an older change arriving late never overrides a newer one."""
    new = dict(entry or empty_entry())
    previous = new.get("status_changed_at")
    changed_at = event.changed_at.isoformat()
    if previous is not None and _after(previous, changed_at):
        return new
    new["status"] = event.status.value
    new["status_changed_at"] = changed_at
    new["red_flush_amount"] = str(event.red_flush_amount) if event.red_flush_amount is not None else None
    return new


def _after(a_iso: str, b_iso: str) -> bool:
    return datetime.fromisoformat(a_iso) > datetime.fromisoformat(b_iso)


def checks_today(entry: Entry | None, day: date) -> int:
    """How many checks of this invoice were already counted on `day` (Asia/Shanghai calendar day)."""
    if not entry or entry.get("checks_day") != day.isoformat():
        return 0
    return int(entry.get("checks_today", 0))


def count_check(entry: Entry | None, day: date) -> Entry:
    """Count one more check of this invoice on `day`."""
    new = dict(entry or empty_entry())
    stored = new.get("checks_day")
    if stored is None or day.isoformat() >= stored:
        new["checks_today"] = checks_today(entry, day) + 1
        new["checks_day"] = day.isoformat()
    # a late check of an earlier day counts in the total but never resets a later day's count
    new["checks_total"] = int(new.get("checks_total", 0)) + 1
    return new


# Parsed invoices by their issuance's event id. Deciding a check and building its context both need the
# invoice; each stored invoice is validated once instead of on every use. An entry read back from
# RocksDB is a new dict every batch, so a hit is taken when the stored dict is the cached one or equal
# to it (a dict comparison costs a fraction of a validation, which is deterministic: equal stored forms
# give equal models); a re-issuance under the same event id with other content is parsed again. Stored
# dicts are never mutated (every function here copies), and the model is frozen.
_PARSED: OrderedDict[str, tuple[dict[str, Any], InvoiceIssued]] = OrderedDict()
_PARSED_MAX = 4096


def issued_invoice(entry: Entry | None) -> InvoiceIssued | None:
    if not entry or entry.get("invoice") is None:
        return None
    stored = entry["invoice"]
    key = str(stored.get("event_id"))
    hit = _PARSED.get(key)
    if hit is not None and (hit[0] is stored or hit[0] == stored):
        _PARSED.move_to_end(key)
        return hit[1]
    invoice = InvoiceIssued.model_validate(stored)
    _PARSED[key] = (stored, invoice)
    _PARSED.move_to_end(key)
    while len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)
    return invoice


def status_of(entry: Entry | None) -> InvoiceStatus:
    return InvoiceStatus((entry or {}).get("status", InvoiceStatus.NORMAL.value))


MAX_REMEMBERED_CHECKS = 50  # per invoice; the daily limit keeps real invoices far below this
# How long a check is remembered (`prune_checks`): longer than a redelivered request can come back (the
# topics keep 7 days), and the window in which a status change still gets a follow-up result. A held
# (pending_sync) check is kept until its hold resolves, whatever its age.
REMEMBER_CHECKS_FOR = timedelta(days=90)


def find_check(entry: Entry | None, check_id: str) -> dict[str, Any] | None:
    """The remembered check with this id (a redelivered or re-verified request), if any."""
    for check in (entry or {}).get("checks", ()):
        if check["check_id"] == check_id:
            return dict(check)
    return None


def remember_check(entry: Entry | None, check: dict[str, Any]) -> Entry:
    """Store (or replace, by check_id) what we know of one check of this invoice."""
    new = dict(entry or empty_entry())
    kept = [c for c in new.get("checks", ()) if c["check_id"] != check["check_id"]]
    kept.append(check)
    new["checks"] = kept[-MAX_REMEMBERED_CHECKS:]
    return new


def prune_checks(
    entry: Entry | None, now: datetime, keep_for: timedelta = REMEMBER_CHECKS_FOR
) -> Entry | None:
    """The entry without the remembered checks requested more than `keep_for` before `now` (a held
    pending_sync check stays: its hold is still open). The counters are kept: 第N次查验 goes on from
    `checks_total` however many checks are remembered. The entry itself when nothing is dropped."""
    if not entry or not entry.get("checks"):
        return entry
    kept = [c for c in entry["checks"] if c["verdict"] == _HELD or now - _requested_at(c) <= keep_for]
    if len(kept) == len(entry["checks"]):
        return entry
    return {**entry, "checks": kept}


def is_expired(entry: Entry | None, today: date) -> bool:
    """Whether the entry's invoice is past the five-year window (超五年): every check of it is refused
    before the register is read, so the entry can leave the table (a tombstone on its changelog).
    An entry whose invoice never arrived is kept (it has no issue date to judge it by)."""
    stored = (entry or {}).get("invoice")
    if not stored:
        return False
    return is_older_than_five_years(date.fromisoformat(str(stored["issue_date"])), today)


_HELD = "pending_sync"


Holds = dict[str, str]  # check id -> requested_at (ISO) of each check held for sync delay


def held_checks(entry: Entry | None) -> Holds:
    """The entry's checks held as pending_sync, with when each was requested: what the sync_holds table
    keeps per invoice, so the sweep that ends holds never reads the whole register."""
    return {
        str(c["check_id"]): str(c["request"]["requested_at"])
        for c in (entry or {}).get("checks", ())
        if c["verdict"] == _HELD
    }


def hold_changes(
    before: Mapping[str, Entry | None], after: Mapping[str, Entry | None]
) -> dict[str, Holds | None]:
    """For each entry in `after` (the ones a batch wrote, None: deleted) whose held checks differ from
    `before`'s: its holds now, or None when it has none left (a tombstone in sync_holds)."""
    changes: dict[str, Holds | None] = {}
    for key, entry in after.items():
        now, was = held_checks(entry), held_checks(before.get(key))
        if now != was:
            changes[key] = now or None
    return changes


def _requested_at(check: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(check["request"]["requested_at"]))
