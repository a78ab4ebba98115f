"""Re-verifying earlier checks: after a late issuance, a status change, a refresh, or a sync timeout.

Commercial APIs make customers poll for an invoice that became 作废/红冲 after they checked it; we
push a follow-up result instead. These functions decide which remembered checks get one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fapiao.domain import register
from fapiao.domain.verification import Decision, decide
from schemas.events import CheckRequested, Verdict


@dataclass(frozen=True)
class FollowUp:
    request: CheckRequested
    decision: Decision
    record: dict[str, Any]  # the remembered check, with its new verdict and version


def recheck(
    entry: register.Entry | None,
    record: dict[str, Any],
    *,
    now: datetime,
    tz: ZoneInfo,
    sync_window: timedelta,
    force: bool = False,
) -> FollowUp | None:
    """Re-verify one remembered check; None when the verdict is unchanged (unless `force`)."""
    request = CheckRequested.model_validate(record["request"])
    today = request.requested_at.astimezone(tz).date()
    decision = decide(request, entry, today, now=now, sync_window=sync_window, recheck=True)
    if decision.verdict.value == record["verdict"] and not force:
        return None
    updated = {**record, "verdict": decision.verdict.value, "version": int(record["version"]) + 1}
    return FollowUp(request, decision, updated)


def follow_ups(
    entry: register.Entry | None, *, now: datetime, tz: ZoneInfo, sync_window: timedelta
) -> list[FollowUp]:
    """Every remembered check of this invoice whose verdict the current register changes."""
    found = []
    for record in (entry or {}).get("checks", ()):
        follow_up = recheck(entry, record, now=now, tz=tz, sync_window=sync_window)
        if follow_up is not None:
            found.append(follow_up)
    return found


def expired_holds(entry: register.Entry | None, *, now: datetime, sync_window: timedelta) -> list[str]:
    """Ids of checks held as pending_sync whose window has run out."""
    expired = []
    for record in (entry or {}).get("checks", ()):
        if record["verdict"] != Verdict.PENDING_SYNC.value:
            continue
        requested_at = datetime.fromisoformat(record["request"]["requested_at"])
        if now - requested_at >= sync_window:
            expired.append(str(record["check_id"]))
    return expired


def due_holds(holds: Mapping[str, str], *, now: datetime, sync_window: timedelta) -> list[str]:
    """Ids of the held checks (check id -> requested_at, `register.held_checks`) whose window has run
    out: the same rule as `expired_holds`, from the sync_holds table instead of the entry."""
    return [c for c, at in holds.items() if now - datetime.fromisoformat(at) >= sync_window]


def with_records(entry: register.Entry | None, updates: list[FollowUp]) -> register.Entry | None:
    """The entry with each follow-up's record stored."""
    for follow_up in updates:
        entry = register.remember_check(entry, follow_up.record)
    return entry
