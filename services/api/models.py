"""HTTP models of the intake API (input `CheckCreate`, outputs `CheckAccepted` and `CheckView`)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fapiao.domain.verification import MESSAGES
from schemas.events import CheckResult, InvoiceFace, Verdict

_YYYYMMDD = re.compile(r"^[0-9]{8}$")
_NUMERIC = re.compile(r"^\s*[0-9]+(\.[0-9]*)?\s*$")


class CheckCreate(BaseModel):
    """One invoice to check: code (empty for 数电), number, date, and the fourth field its type needs."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "invoice_code": "011001900211",
                    "invoice_number": "12345678",
                    "issue_date": "2026-11-20",
                    "check_code": "123456",
                },
                {"invoice_number": "26112000000012345678", "issue_date": "2026-11-20", "amount": "1130.00"},
            ]
        },
    )

    invoice_code: str = Field(
        default="", pattern=r"^([0-9]{10}|[0-9]{12})?$", description="发票代码; empty for 数电"
    )
    invoice_number: str = Field(
        pattern=r"^([0-9]{8}|[0-9]{20})$", description="发票号码: 8 digits, or 20 for 数电"
    )
    issue_date: date = Field(description="开票日期, YYYY-MM-DD or YYYYMMDD")
    amount: Decimal | None = Field(
        default=None,
        gt=0,
        max_digits=16,
        decimal_places=2,
        description="不含税金额 / 价税合计 / 车价合计 by type",
    )
    check_code: str | None = Field(
        default=None, pattern=r"^([0-9]{6}|[0-9]{20})$", description="校验码后6位 (or all 20 digits)"
    )
    requester: str = Field(default="anonymous", min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:-]+$")
    request_id: str | None = Field(default=None, max_length=128, description="idempotency key (or header)")

    @field_validator("issue_date", mode="before")
    @classmethod
    def _compact_date(cls, value: Any) -> Any:
        if isinstance(value, str) and _YYYYMMDD.match(value):
            return f"{value[:4]}-{value[4:6]}-{value[6:]}"
        if isinstance(value, str) and _NUMERIC.match(value):
            raise ValueError("issue_date must be YYYY-MM-DD or YYYYMMDD, not a timestamp")
        if isinstance(value, int | float):
            raise ValueError("issue_date must be a date string (YYYY-MM-DD or YYYYMMDD), not a number")
        return value


class CheckAccepted(BaseModel):
    check_id: UUID
    status: Literal["pending"] = "pending"  # the verdict follows at `location`
    location: str


class CheckView(BaseModel):
    """A check as the API shows it: pending, or its newest verdict."""

    check_id: UUID
    status: Literal["pending", "done", "pending_sync"]
    verdict: Verdict | None = None
    verdict_zh: str | None = None
    verdict_en: str | None = None
    message_zh: str | None = None
    message_en: str | None = None
    mismatched_fields: list[str] = []
    check_count: int | None = Field(default=None, description="第 N 次查验")
    invoice: InvoiceFace | None = None
    invoice_status: str | None = None
    requested_at: datetime | None = None
    decided_at: datetime | None = None
    result_version: int | None = None
    follow_up: bool = False

    @classmethod
    def from_result(cls, result: CheckResult) -> CheckView:
        zh, en = MESSAGES[result.verdict]
        return cls(
            check_id=result.check_id,
            status="pending_sync" if result.verdict is Verdict.PENDING_SYNC else "done",
            verdict=result.verdict,
            verdict_zh=zh,
            verdict_en=en,
            message_zh=result.message_zh,
            message_en=result.message_en,
            mismatched_fields=list(result.mismatched_fields),
            check_count=result.check_count,
            invoice=result.invoice,
            invoice_status=result.invoice.status.value if result.invoice else None,
            requested_at=result.requested_at,
            decided_at=result.decided_at,
            result_version=result.result_version,
            follow_up=result.follow_up,
        )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CheckView:
        """From a `check_results` row (older checks, no longer in the API's memory)."""
        verdict = Verdict(row["verdict"])
        zh, en = MESSAGES[verdict]
        return cls(
            check_id=row["check_id"],
            status="pending_sync" if verdict is Verdict.PENDING_SYNC else "done",
            verdict=verdict,
            verdict_zh=zh,
            verdict_en=en,
            message_zh=row["message_zh"],
            message_en=row["message_en"],
            mismatched_fields=list(row["mismatched_fields"]),
            check_count=row["check_count"],
            invoice_status=row["invoice_status"] or None,
            requested_at=row["requested_at"],
            decided_at=row["decided_at"],
            result_version=row["result_version"],
            follow_up=bool(row["follow_up"]),
        )
