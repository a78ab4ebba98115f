"""Pydantic models of every event on the wire.

Rules for producers in any language: JSON objects, UTF-8; money as a decimal string or number with
at most 2 decimals (serialised back as a string, so no float rounding); dates `YYYY-MM-DD`;
timestamps ISO 8601 with an offset; unknown fields are rejected. `schema_version` is bumped on any
incompatible change; consumers accept every version they know.

Bounds are what the warehouse can hold (docs/events.md#bounds): a value ClickHouse would refuse or
silently wrap is refused here, so the message goes to `checks.dlq` as unreadable instead of wedging
the sink. tests/unit/test_storable_bounds.py derives them from the migrated columns.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fapiao.domain.invoice_types import FPLX_ALIASES, INVOICE_TYPES

# ClickHouse 18.16's narrowest columns: UInt32 holds 0..4,294,967,295; DateTime('UTC') 1970-01-01
# 00:00:01..2106-02-07 06:28:15; Date 1970-01-02..2105-12-31 (day 0 reads 0000-00-00, later days wrap to
# it). Dates and times are held to 2000..2099, the days the analytics accept (fapiao.analytics.filters):
# well inside both, and no check predates 2000 (older invoices are past the five years anyway).
UINT32_MAX = 2**32 - 1
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
FIRST_MOMENT, END_MOMENT = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
# How far a producer's clock may run ahead of ours. A later requested_at is a clock bug (local time
# labelled UTC is 8 h ahead): refused, since it would file the check under a future hour and day. Not
# bounded in the past beyond FIRST_MOMENT: a dead letter replayed months later is a genuine old request.
REQUEST_CLOCK_SKEW = timedelta(hours=1)

UInt32 = Annotated[int, Field(ge=0, le=UINT32_MAX)]
StoredDate = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
StoredTime = Annotated[AwareDatetime, Field(ge=FIRST_MOMENT, lt=END_MOMENT)]


def _not_ahead(moment: datetime, info: ValidationInfo) -> datetime:
    """Refuse a request time ahead of when it is sent: now, unless the caller says it is built ahead of
    its sending (`context={"sent_at": t}`: the demo feed schedules a case's later checks and publishes
    each when its time comes; the consumer checks it again against its own clock)."""
    sent_at = info.context.get("sent_at") if isinstance(info.context, dict) else None
    latest = (sent_at or datetime.now(UTC)) + REQUEST_CLOCK_SKEW
    if moment > latest:
        raise ValueError(
            f"more than {REQUEST_CLOCK_SKEW} ahead of this clock ({moment.isoformat()}): producer clock bug?"
        )
    return moment


RequestTime = Annotated[StoredTime, AfterValidator(_not_ahead)]
Money = Annotated[Decimal, Field(max_digits=16, decimal_places=2)]  # Decimal(18, 2) holds 16 digits
Digits = Annotated[str, StringConstraints(pattern=r"^[0-9]*$", max_length=20)]
TaxId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{15,20}$")]
OrgId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_.-]{1,64}$")]
RuleName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")]


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1


class Party(BaseModel):
    """A seller or buyer as printed on the invoice."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="", max_length=200, description="required unless the party is sealed")
    tax_id: TaxId | None = Field(
        default=None, description="统一社会信用代码 / 纳税人识别号; none for individuals"
    )
    address_phone: str | None = Field(default=None, max_length=300)
    bank_account: str | None = Field(default=None, max_length=300)
    ref: str | None = Field(
        default=None,
        max_length=64,
        description="sealed parties only: HMAC-SM3 pseudonym of tax_id (empty without one)",
    )
    sealed: str | None = Field(
        default=None,
        max_length=4000,
        description="sealed parties only: SM4-GCM envelope of {name, tax_id, address_phone, bank_account}",
    )

    @model_validator(mode="after")
    def _named_or_sealed(self) -> Party:
        if self.sealed is None and not self.name:
            raise ValueError("a party needs a name")
        if self.sealed is not None and (self.name or self.tax_id or self.address_phone or self.bank_account):
            raise ValueError("a sealed party carries no plaintext fields")
        return self


class InvoiceLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str = Field(min_length=1, max_length=200, description="货物或应税劳务、服务名称")
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Money = Field(description="不含税金额")
    tax_rate: Decimal = Field(ge=0, le=Decimal("0.17"), description="e.g. 0.13; 0 for 免税/零税率")
    tax: Money


class InvoiceIssued(Event):
    """Topic `invoices.issued`, key = invoice key. The register's feed of issued invoices."""

    event_id: UUID
    fplx: str = Field(pattern=r"^[0-9]{2}$", description="invoice type code, see docs/events.md")
    invoice_code: Digits = Field(default="", description="发票代码: 10 or 12 digits, empty for 数电")
    invoice_number: Digits = Field(min_length=8, description="发票号码: 8 digits, or 20 for 数电")
    issue_date: date
    issued_at: AwareDatetime
    seller: Party
    buyer: Party
    lines: tuple[InvoiceLine, ...] = ()
    amount: Money = Field(description="合计金额 (不含税)")
    tax: Money = Field(description="合计税额")
    total: Money = Field(description="价税合计")
    check_code: Digits = Field(default="", description="校验码 (20 digits), empty for 数电")
    remarks: str = Field(default="", max_length=500)

    @field_validator("fplx")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in INVOICE_TYPES and value not in FPLX_ALIASES:
            raise ValueError(f"unknown invoice type {value!r}; known: {', '.join(sorted(INVOICE_TYPES))}")
        return value

    @field_validator("seller", "buyer")
    @classmethod
    def _plain_party(cls, value: Party) -> Party:
        if value.sealed is not None or value.ref is not None:
            raise ValueError(
                "issued invoices carry plain parties (sealing is for results leaving the worker)"
            )
        return value


class InvoiceStatus(StrEnum):
    NORMAL = "normal"  # 正常
    VOIDED = "voided"  # 作废
    RED_FLUSHED_PARTIAL = "red_flushed_partial"  # 部分红冲
    RED_FLUSHED_FULL = "red_flushed_full"  # 全额红冲
    ABNORMAL = "abnormal"  # 异常 (失控 / 异常凭证)


class InvoiceStatusChanged(Event):
    """Topic `invoices.status`, key = invoice key. A later change of an issued invoice's status."""

    event_id: UUID
    invoice_code: Digits = ""
    invoice_number: Digits = Field(min_length=8)
    status: InvoiceStatus
    changed_at: AwareDatetime
    red_flush_amount: Money | None = Field(default=None, description="红冲金额 for red flushes")
    reason: str = Field(default="", max_length=500)


class CheckRequested(Event):
    """Topic `checks.requested`, key = invoice key. One verification request (查验请求).

    The fourth field depends on the type: `amount` (不含税金额 / 价税合计 / 车价合计 …) or
    `check_code` (校验码后6位); see docs/events.md.
    """

    check_id: UUID
    request_id: str | None = Field(default=None, max_length=128, description="client idempotency key")
    requested_at: RequestTime
    org_id: OrgId = Field(default="public", description="owning organisation (the API sets the caller's)")
    requester: str = Field(min_length=1, max_length=64, description="requesting user, system or taxpayer id")
    channel: Literal["api", "batch", "document", "demo", "review"] = Field(
        default="api", description="review: fields corrected by a person (人工复核), requester = reviewer"
    )
    batch_id: UUID | None = None
    batch_row: int | None = Field(
        default=None, ge=1, le=UINT32_MAX, description="1-based row (or file) number in the batch"
    )
    invoice_code: Digits = ""
    invoice_number: Digits = Field(min_length=8)
    issue_date: StoredDate
    amount: Money | None = None
    check_code: Digits | None = Field(default=None, description="校验码后6位 (or the full 20 digits)")


class CheckRecheck(Event):
    """Topic `checks.rechecks`, key = invoice key. Re-verify an earlier check (internal).

    Sent by the API for 手动刷新 (`POST /v1/checks/{id}/refresh`) and by the worker's sweep when a
    check held for sync delay runs out of time.
    """

    check_id: UUID
    invoice_key: str = Field(min_length=8, max_length=40)
    reason: Literal["refresh", "sync_timeout"]
    requested_at: RequestTime


class Verdict(StrEnum):
    CONSISTENT = "consistent"  # 一致
    INCONSISTENT = "inconsistent"  # 不一致
    NOT_FOUND = "not_found"  # 查无此票
    VOIDED = "voided"  # 作废
    RED_FLUSHED_PARTIAL = "red_flushed_partial"  # 部分红冲
    RED_FLUSHED_FULL = "red_flushed_full"  # 全额红冲
    ABNORMAL = "abnormal"  # 异常
    LIMIT_EXCEEDED = "limit_exceeded"  # 超过该张发票当日查验次数
    TOO_OLD = "too_old"  # 超过五年
    INVALID = "invalid"  # 请求不合法
    PENDING_SYNC = "pending_sync"  # 尚未同步, awaiting the issuance event


class InvoiceFace(BaseModel):
    """What a successful check shows of the invoice (票面信息)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fplx: str
    type_name: str
    invoice_code: str
    invoice_number: str
    issue_date: date
    seller: Party
    buyer: Party
    lines: tuple[InvoiceLine, ...] = ()
    amount: Money
    tax: Money
    total: Money
    status: InvoiceStatus = InvoiceStatus.NORMAL
    remarks: str = ""


Severity = Literal["low", "medium", "high", "critical"]


class RiskAssessment(BaseModel):
    """How risky a checked invoice looks, 0–100, and why (rule reasons and the model's share)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    score: int = Field(ge=0, le=100)
    severity: Severity
    reasons: tuple[str, ...] = Field(default=(), description="reason codes, strongest first")
    evidence: dict[str, str] = Field(default_factory=dict)
    model_score: float | None = Field(default=None, ge=0, le=1, description="anomaly score of the model, 0–1")
    rule_version: UInt32 = 0
    model_version: str = ""
    features: tuple[float, ...] = Field(default=(), description="the model's inputs, in FEATURE_NAMES order")


class CheckResult(Event):
    """Topic `checks.results`, key = invoice key. A verdict for one check.

    `result_version` grows with each result for the same check (a pending check later resolved, a
    follow-up after the invoice was voided); consumers keep the highest version.
    """

    result_id: UUID
    check_id: UUID
    result_version: int = Field(ge=1, le=UINT32_MAX)
    requested_at: StoredTime
    decided_at: StoredTime
    org_id: OrgId = "public"
    requester: str
    channel: str = "api"
    batch_id: UUID | None = None
    batch_row: int | None = Field(default=None, ge=1, le=UINT32_MAX)
    invoice_key: str
    fplx: str = Field(default="", description="'' when the type could not be determined")
    invoice_code: str = ""
    invoice_number: str
    issue_date: StoredDate
    verdict: Verdict
    message_zh: str
    message_en: str
    mismatched_fields: tuple[str, ...] = ()
    check_count: int = Field(
        ge=0, le=UINT32_MAX, description="第 N 次查验: checks of this invoice so far, this one included"
    )
    invoice: InvoiceFace | None = Field(
        default=None, description="the invoice face, on 一致 and status verdicts"
    )
    follow_up: bool = Field(default=False, description="sent after the fact (status change, sync resolved)")
    risk: RiskAssessment | None = Field(default=None, description="risk scoring, when the worker scores")
    enrichment: dict[str, str] = Field(
        default_factory=dict,
        description="names for codes: region, type_name, seller_division, buyer_division (and their _code)",
    )
    requester_ref: str = Field(
        default="", description="sealed results: HMAC-SM3 pseudonym of the requester (requester is then '')"
    )
    requester_sealed: str = Field(default="", description="sealed results: SM4-GCM envelope of the requester")
    integrity_tag: str = Field(
        default="",
        description="HMAC-SM3 (hex) over this result's JSON (as published, sealed or not) with integrity_tag "
        "empty; set by the worker",
    )


class RiskAlert(Event):
    """Topic `risk.alerts`, key = invoice key. A result whose risk score crossed the threshold."""

    alert_id: UUID
    check_id: UUID
    org_id: OrgId = "public"
    invoice_key: str
    seller_tax_id: str = Field(default="", description="'' when sealed: see seller_ref, seller_sealed")
    seller_ref: str = Field(
        default="", description="HMAC-SM3 pseudonym of the seller's tax id (sealed alerts)"
    )
    seller_sealed: str = Field(default="", description="SM4-GCM envelope of the seller party (sealed alerts)")
    raised_at: StoredTime
    score: int = Field(ge=0, le=100)
    severity: Severity
    reasons: tuple[str, ...]
    evidence: dict[str, str] = Field(default_factory=dict)
    rule_version: UInt32 = 0
    model_version: str = ""


class CheckContext(BaseModel):
    """What the register knew about an invoice's checks when it answered this one (for scoring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prior_checks: int = Field(ge=0, description="checks of this invoice before this one")
    prior_inconsistent: int = Field(ge=0, description="of which answered 不一致")
    requesters: tuple[str, ...] = Field(
        default=(), description="distinct requesters so far, this one included"
    )
    orgs: tuple[str, ...] = Field(default=(), description="distinct organisations so far, this one included")
    consistent_requesters: tuple[str, ...] = Field(
        default=(), description="requesters answered 一致 (or status)"
    )
    first_checked_at: AwareDatetime | None = None
    issued_at: AwareDatetime | None = None
    status_changed_at: AwareDatetime | None = None
    seller_tax_id: str = ""
    buyer_tax_id: str = ""


class CheckVerified(Event):
    """Topic `checks.verified` (internal), key = seller tax id (invoice key when unknown).

    The verdict plus the invoice's check context, re-keyed by seller so the risk agent finds the
    seller's rolling statistics locally.
    """

    result: CheckResult
    context: CheckContext


class SellerActivity(Event):
    """Topic `sellers.activity` (internal), key = seller tax id. Feeds the per-seller statistics."""

    seller_tax_id: str = Field(min_length=1)
    kind: Literal["issued", "voided", "red_flushed"]
    invoice_key: str
    invoice_number: str
    buyer_tax_id: str = ""
    amount: Money = Field(description="价税合计 of the invoice")
    issued_at: AwareDatetime
    at: AwareDatetime = Field(description="when the activity happened (issued_at, or the status change)")


class RiskRules(Event):
    """Topic `risk.rules` (compacted), key = `<org_id or _platform>:<version>`. Rule parameters of one
    organisation (or the platform default, `org_id` ''), changed by its analysts at run time."""

    org_id: OrgId | Literal[""] = Field(default="", description="'' for the platform default")
    version: int = Field(
        ge=1, le=UINT32_MAX, description="assigned by the publisher (the org's last + 1); stored as UInt32"
    )
    alert_threshold: int = Field(default=60, ge=0, le=100)
    alert_window_seconds: int = Field(
        default=24 * 3600, ge=0, le=366 * 24 * 3600, description="one alert per invoice+reason per window"
    )
    model_weight: float = Field(default=0.3, ge=0, le=1, description="share of the model in the 0–100 score")
    weights: dict[RuleName, Annotated[int, Field(ge=0, le=100)]] = Field(
        default_factory=dict, max_length=64, description="reason code -> points (0–100)"
    )
    params: dict[RuleName, Annotated[float, Field(allow_inf_nan=False)]] = Field(
        default_factory=dict, max_length=64, description="rule parameters, e.g. amount_z: 4"
    )
    updated_by: str = Field(default="", max_length=128)
    updated_at: AwareDatetime | None = None


DeadLetterKind = Literal["unreadable", "exception", "unstorable"]


class DeadLetter(Event):
    """Topic `checks.dlq`, key = the original key. A message a stage could not process, and why:
    `unreadable` (schema, key, partition), `exception` (processing it raised: a poison pill; `stack`
    has the traceback) or `unstorable` (ClickHouse refused its row; `error` has the server's message)."""

    source_topic: str
    partition: int
    offset: int
    key: str | None
    error: str
    payload: str = Field(description="the original value, decoded as UTF-8 with replacement")
    failed_at: AwareDatetime
    stage: str = Field(description="which agent refused it")
    kind: DeadLetterKind = "unreadable"
    stack: str = Field(default="", max_length=8000, description="the traceback, for kind `exception`")


class DeadLetterReplay(Event):
    """Topic `checks.dlq.replays` (compacted), key = `<dlq partition>:<dlq offset>`. A dead letter that
    `fapiao dlq replay` published again to its source topic."""

    dlq_partition: int = Field(ge=0)
    dlq_offset: int = Field(ge=0)
    source_topic: str = Field(max_length=249)
    replayed_at: AwareDatetime
    replayed_by: str = Field(default="", max_length=128)
