"""The case workflow (pure): which status may follow which, and which statuses are decisions.

new → in_review → confirmed_fraud | confirmed_error | dismissed, and a decided case may be taken back
to review (its label is then withdrawn: decision `reopened`). An obvious false alert may be dismissed
straight from new, which is what bulk triage does.
"""

from __future__ import annotations

from typing import Literal

Status = Literal["new", "in_review", "confirmed_fraud", "confirmed_error", "dismissed"]
STATUSES: tuple[Status, ...] = ("new", "in_review", "confirmed_fraud", "confirmed_error", "dismissed")
DECIDED: frozenset[str] = frozenset({"confirmed_fraud", "confirmed_error", "dismissed"})
NEXT: dict[str, frozenset[str]] = {
    "new": frozenset({"in_review", "dismissed"}),
    "in_review": frozenset({"confirmed_fraud", "confirmed_error", "dismissed"}),
    "confirmed_fraud": frozenset({"in_review"}),
    "confirmed_error": frozenset({"in_review"}),
    "dismissed": frozenset({"in_review"}),
}
STATUS_ZH = {
    "new": "待处理",
    "in_review": "复核中",
    "confirmed_fraud": "确认欺诈",
    "confirmed_error": "确认差错",
    "dismissed": "误报",
}
REOPENED = "reopened"


def may_move(current: str, wanted: str) -> bool:
    """Whether a case in `current` may go to `wanted` (staying put is always allowed: a no-op)."""
    return wanted == current or wanted in NEXT.get(current, frozenset())


def decision_of(old: str, new: str) -> str | None:
    """The `alert_decisions` row a move writes: the new decision, `reopened` when a decision is taken
    back, None when no decision changes (new → in_review, or no move)."""
    if old == new:
        return None
    if new in DECIDED:
        return new
    if old in DECIDED:
        return REOPENED
    return None


def is_label(decision: str) -> bool | None:
    """The training label of a decision: True (a real problem), False (a false alert), None (none)."""
    if decision in ("confirmed_fraud", "confirmed_error"):
        return True
    if decision == "dismissed":
        return False
    return None
