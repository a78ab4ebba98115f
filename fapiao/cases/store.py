"""Cases of risk alerts in the accounts store: open, change, comment, triage in bulk, list.

Every change is one transaction that also writes the case's history and the audit log. A change that
decides a case (or takes a decision back) calls `on_decision` with the `alert_decisions` row before the
transaction commits, so a decision that cannot reach the warehouse is not recorded either (the caller
answers 503 and the analyst tries again; the row is idempotent per (alert, version)).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fapiao.accounts import audit
from fapiao.accounts.context import AccountsContext
from fapiao.accounts.exceptions import Conflict, InvalidInput, NotFound
from fapiao.accounts.models import Membership
from fapiao.cases.tables import AlertCase, CaseEvent
from fapiao.cases.workflow import STATUS_ZH, decision_of, may_move

UNSET: object = object()  # "leave as it is" for assignee and due time (None clears them)


@dataclass(frozen=True)
class AlertRef:
    """What a case copies from its alert (read from the warehouse by the caller, organisation-scoped)."""

    alert_id: str
    check_id: str
    invoice_key: str
    reasons: tuple[str, ...]
    severity: str


@dataclass(frozen=True)
class DecisionRow:
    """One row of ClickHouse `alert_decisions` (see /work/coord/labels.md, docs/cases.md)."""

    org_id: str
    alert_id: str
    check_id: str
    invoice_key: str
    decision: str
    decided_by: str
    decided_at: datetime
    version: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CaseEventInfo:
    id: int
    at: datetime
    actor: str
    kind: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class CaseInfo:
    alert_id: str
    check_id: str
    invoice_key: str
    status: str
    assignee: str | None
    due_at: datetime | None
    decision_version: int
    created_at: datetime | None
    updated_at: datetime | None
    events: tuple[CaseEventInfo, ...] = field(default=())


@dataclass(frozen=True)
class Change:
    """What a PATCH or a bulk action asks for; UNSET fields stay as they are."""

    status: str | None = None
    assignee: object = UNSET  # str | None | UNSET
    due_at: object = UNSET  # datetime | None | UNSET
    comment: str | None = None


def new_case(ref: AlertRef) -> CaseInfo:
    """How an alert nobody acted on yet looks: `new`, unassigned."""
    return CaseInfo(ref.alert_id, ref.check_id, ref.invoice_key, "new", None, None, 0, None, None)


def _info(row: AlertCase, events: Sequence[CaseEvent] = ()) -> CaseInfo:
    return CaseInfo(
        row.alert_id,
        row.check_id,
        row.invoice_key,
        row.status,
        row.assignee,
        row.due_at,
        row.decision_version,
        row.created_at,
        row.updated_at,
        tuple(CaseEventInfo(e.id, e.at, e.actor, e.kind, e.old, e.new) for e in events),
    )


def _events(s: Session, org_id: str, alert_id: str) -> list[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.org_id == org_id, CaseEvent.alert_id == alert_id)
    return list(s.scalars(query.order_by(CaseEvent.id)))


def get(ctx: AccountsContext, org_id: str, ref: AlertRef) -> CaseInfo:
    """The alert's case with its history (a `new` one without history if nobody acted yet)."""
    with ctx.sessions() as s:
        row = s.get(AlertCase, (org_id, ref.alert_id))
        return new_case(ref) if row is None else _info(row, _events(s, org_id, ref.alert_id))


def cases_of(ctx: AccountsContext, org_id: str, alert_ids: Iterable[str]) -> dict[str, CaseInfo]:
    """The cases of these alerts (those that have one), for a page of the inbox."""
    ids = list(dict.fromkeys(alert_ids))
    if not ids:
        return {}
    with ctx.sessions() as s:
        rows = s.scalars(select(AlertCase).where(AlertCase.org_id == org_id, AlertCase.alert_id.in_(ids)))
        return {r.alert_id: _info(r) for r in rows}


def alert_ids_where(
    ctx: AccountsContext, org_id: str, statuses: Sequence[str] = (), assignee: str | None = None
) -> tuple[list[str], bool]:
    """The alert ids an inbox filter on status/assignee selects, as (ids, exclude): with exclude the
    filter means "every alert except these" (status `new` includes the alerts that have no case)."""
    query = select(AlertCase.alert_id).where(AlertCase.org_id == org_id)
    if assignee is not None:
        query = query.where(AlertCase.assignee == assignee)
    wanted = set(statuses)
    exclude = "new" in wanted and assignee is None
    if wanted:
        if exclude:
            query = query.where(AlertCase.status.not_in(wanted))
        else:
            query = query.where(AlertCase.status.in_(wanted))
    with ctx.sessions() as s:
        return list(s.scalars(query)), exclude


def _check_assignee(s: Session, org_id: str, assignee: str) -> None:
    if s.get(Membership, (org_id, assignee)) is None:
        raise InvalidInput(
            f"assignee {assignee} is not a member of this organisation", f"处理人 {assignee} 不是本组织成员"
        )


def _stamp(
    s: Session, org_id: str, alert_id: str, at: datetime, actor: str, kind: str, old: object, new: object
) -> None:
    def text(v: object) -> str | None:
        return None if v is None else v.isoformat() if isinstance(v, datetime) else str(v)

    s.add(
        CaseEvent(
            org_id=org_id, alert_id=alert_id, at=at, actor=actor, kind=kind, old=text(old), new=text(new)
        )
    )


def change(
    ctx: AccountsContext,
    org_id: str,
    actor: str,
    ref: AlertRef,
    wanted: Change,
    on_decision: Callable[[DecisionRow], None] | None = None,
    ip: str | None = None,
) -> CaseInfo:
    """Apply `wanted` to the alert's case (opening it if needed). Conflict (409) for a move the
    workflow does not allow; InvalidInput (400) for an assignee outside the organisation."""
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        row = s.get(AlertCase, (org_id, ref.alert_id))
        if row is None:
            row = AlertCase(
                org_id=org_id,
                alert_id=ref.alert_id,
                check_id=ref.check_id,
                invoice_key=ref.invoice_key,
                reasons=json.dumps(list(ref.reasons), ensure_ascii=False),
                severity=ref.severity,
                status="new",
                decision_version=0,
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            _stamp(s, org_id, ref.alert_id, now, actor, "created", None, "new")
        changes: dict[str, object] = {}
        if wanted.status is not None and wanted.status != row.status:
            if not may_move(row.status, wanted.status):
                old_zh, new_zh = STATUS_ZH[row.status], STATUS_ZH.get(wanted.status, wanted.status)
                raise Conflict(
                    f"a case cannot go from {row.status} to {wanted.status}",
                    f"复核状态不能从“{old_zh}”改为“{new_zh}”",
                )
            decision = decision_of(row.status, wanted.status)
            _stamp(s, org_id, ref.alert_id, now, actor, "status", row.status, wanted.status)
            changes["status"] = [row.status, wanted.status]
            row.status = wanted.status
            if decision is not None:
                row.decision_version += 1
                if on_decision is not None:
                    on_decision(
                        DecisionRow(
                            org_id,
                            ref.alert_id,
                            row.check_id,
                            row.invoice_key,
                            decision,
                            actor,
                            now,
                            row.decision_version,
                            tuple(json.loads(row.reasons)),
                        )
                    )
        if wanted.assignee is not UNSET and wanted.assignee != row.assignee:
            if wanted.assignee is not None:
                _check_assignee(s, org_id, str(wanted.assignee))
            _stamp(s, org_id, ref.alert_id, now, actor, "assignee", row.assignee, wanted.assignee)
            changes["assignee"] = [row.assignee, wanted.assignee]
            row.assignee = None if wanted.assignee is None else str(wanted.assignee)
        if wanted.due_at is not UNSET and wanted.due_at != row.due_at:
            due = wanted.due_at if isinstance(wanted.due_at, datetime) else None
            _stamp(s, org_id, ref.alert_id, now, actor, "due", row.due_at, due)
            changes["due_at"] = [row.due_at, due]
            row.due_at = due
        if wanted.comment:
            _stamp(s, org_id, ref.alert_id, now, actor, "comment", None, wanted.comment)
            audit.record(s, now, "case.commented", actor, org_id, ip=ip, alert_id=ref.alert_id)
        if changes:
            audit.record(s, now, "case.changed", actor, org_id, ip=ip, alert_id=ref.alert_id, changes=changes)
        row.updated_at = now
        s.flush()
        return _info(row, _events(s, org_id, ref.alert_id))


def require(refs: dict[str, AlertRef], alert_id: str) -> AlertRef:
    ref = refs.get(alert_id)
    if ref is None:
        raise NotFound(f"no alert {alert_id} in this organisation", f"本组织没有预警 {alert_id}")
    return ref
