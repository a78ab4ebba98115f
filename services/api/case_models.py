"""HTTP models of the alert inbox and its cases (人工复核)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fapiao.cases.store import CaseEventInfo, CaseInfo
from fapiao.cases.workflow import Status
from fapiao.warehouse.alert_inbox import ReasonPrecision
from schemas.events import RiskAlert
from services.api.people import ShownPeople


def _ids(user_id: str | None) -> str | None:
    return user_id


class CaseSummary(BaseModel):
    status: Status
    assignee: str | None
    due_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, case: CaseInfo | None, people: ShownPeople = _ids) -> CaseSummary:
        """`people`: how the caller sees members (services/api/people.py: references for API keys)."""
        if case is None:
            return cls(status="new", assignee=None, due_at=None, updated_at=None)
        return cls(
            status=case.status,  # type: ignore[arg-type]
            assignee=people(case.assignee),
            due_at=case.due_at,
            updated_at=case.updated_at,
        )


class AlertItem(BaseModel):
    alert_id: str
    check_id: str
    invoice_key: str
    seller_tax_id: str = Field(description="'' when the alert's seller could not be opened")
    raised_at: datetime
    score: int
    severity: str
    reasons: list[str]
    evidence: dict[str, str]
    rule_version: int
    model_version: str
    case: CaseSummary

    @classmethod
    def of(cls, alert: RiskAlert, case: CaseInfo | None, people: ShownPeople = _ids) -> AlertItem:
        return cls(
            alert_id=str(alert.alert_id),
            check_id=str(alert.check_id),
            invoice_key=alert.invoice_key,
            seller_tax_id=alert.seller_tax_id,
            raised_at=alert.raised_at,
            score=alert.score,
            severity=alert.severity,
            reasons=list(alert.reasons),
            evidence=dict(alert.evidence),
            rule_version=alert.rule_version,
            model_version=alert.model_version,
            case=CaseSummary.of(case, people),
        )


class AlertsPageOut(BaseModel):
    data: list[AlertItem]
    count: int
    next_cursor: str | None


class CaseEventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    kind: Literal["created", "status", "assignee", "due", "comment"]
    old: str | None
    new: str | None

    @classmethod
    def of(cls, event: CaseEventInfo, people: ShownPeople = _ids) -> CaseEventOut:
        """The actor (a member; a comment's author) as `people` shows it, and so both sides of an
        assignment."""
        fields = dict(event.__dict__, actor=people(event.actor))
        if event.kind == "assignee":
            fields.update(old=people(event.old), new=people(event.new))
        return cls(**fields)


class CaseOut(BaseModel):
    alert: AlertItem
    decision_version: int = Field(description="how many decisions the case had (alert_decisions.version)")
    created_at: datetime | None
    history: list[CaseEventOut]

    @classmethod
    def of(cls, alert: RiskAlert, case: CaseInfo, people: ShownPeople = _ids) -> CaseOut:
        return cls(
            alert=AlertItem.of(alert, case, people),
            decision_version=case.decision_version,
            created_at=case.created_at,
            history=[CaseEventOut.of(e, people) for e in case.events],
        )


class CaseUpdate(BaseModel):
    """Fields left out stay as they are; `assignee`/`due_at` null clear them."""

    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    assignee: str | None = Field(default=None, max_length=32, description="a member's user id, or 'me'")
    due_at: AwareDatetime | None = None
    comment: str | None = Field(default=None, min_length=1, max_length=4000)


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)


class BulkCaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alert_ids: list[str] = Field(min_length=1, max_length=500)
    status: Status | None = None
    assignee: str | None = Field(default=None, max_length=32, description="a member's user id, or 'me'")
    comment: str | None = Field(default=None, min_length=1, max_length=4000)


class BulkItemOut(BaseModel):
    alert_id: str
    ok: bool
    status: Status | None = None
    code: str | None = None
    msg: str | None = None
    msg_zh: str | None = None


class BulkOut(BaseModel):
    data: list[BulkItemOut]
    count: int
    changed: int


class AssigneeOut(BaseModel):
    user_id: str
    display_name: str
    email: str
    role: str


class AssigneesOut(BaseModel):
    data: list[AssigneeOut]
    count: int


class PrecisionOut(BaseModel):
    month: date
    reason: str
    confirmed: int
    dismissed: int
    precision: float | None

    @classmethod
    def of(cls, p: ReasonPrecision) -> PrecisionOut:
        return cls(
            month=p.month,
            reason=p.reason,
            confirmed=p.confirmed,
            dismissed=p.dismissed,
            precision=p.precision,
        )


class PrecisionsOut(BaseModel):
    data: list[PrecisionOut]
    count: int
