"""What leaves the worker's tables, and when (pure): the register, seller statistics and raised-alert
marks are bounded in age, so a table holds only what can still change an answer.

- a register entry whose invoice is past the five-year window (超五年): every check of it is refused
  before the register is read (`register.is_expired`);
- a seller's statistics with no activity for five years: what they held (amounts, buyers, hours) says
  nothing about the seller today; a seller who comes back starts afresh;
- an alert mark (`org|invoice|reason` -> when it was last raised) older than the longest alert window
  the rules allow: `scoring.alert_due` answers the same for it as for a missing mark.

The worker's sweeps (streams/table_sweep.py) delete them with tombstones, so compaction drops them from
the changelogs too.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fapiao.domain import register
from fapiao.domain.request_rules import is_older_than_five_years
from schemas.events import RiskRules

# The longest alert window the rules accept (their schema's bound): one source of truth.
ALERT_MARK_KEPT = timedelta(
    seconds=next(m.le for m in RiskRules.model_fields["alert_window_seconds"].metadata if hasattr(m, "le"))
)


def register_entry_expired(entry: register.Entry | None, now: datetime, today: date) -> bool:
    return register.is_expired(entry, today)


def seller_stats_expired(stats: dict[str, Any] | None, now: datetime, today: date) -> bool:
    """No activity of the seller for five years (statistics without any activity are kept: nothing to
    date them by)."""
    last = (stats or {}).get("last_at")
    if not last:
        return False
    try:
        at = datetime.fromisoformat(str(last))
    except ValueError:
        return False
    return is_older_than_five_years(at.date(), today)


def alert_mark_expired(raised_at: str | None, now: datetime, today: date) -> bool:
    """Raised longer ago than any alert window: an unreadable mark is kept (`alert_due` already treats it
    as never raised)."""
    if not raised_at:
        return False
    try:
        at = datetime.fromisoformat(raised_at)
    except ValueError:
        return False
    if at.tzinfo is None or now.tzinfo is None:
        return False
    return now - at > ALERT_MARK_KEPT
