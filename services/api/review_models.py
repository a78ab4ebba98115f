"""HTTP models of `/v1/reviews` (人工复核 of documents and batch rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fapiao.reviews.store import ReviewInfo


class ReviewEventOut(BaseModel):
    at: datetime
    actor: str
    kind: Literal["queued", "submitted"]
    detail: dict[str, Any]


class ReviewSummary(BaseModel):
    review_id: str
    kind: Literal["document", "batch_row"]
    status: Literal["open", "submitted"]
    reason: str = Field(
        description="why a person must look: fields_disagree, low_confidence, a row's problem code"
    )
    reason_zh: str
    reason_en: str
    file_name: str = Field(description="the document's name ('' for spreadsheet rows)")
    batch_id: str | None
    batch_row: int | None = Field(description="1-based position in its batch")
    line: int | None = Field(description="the spreadsheet's line (header = 1)")
    proposed: dict[str, str] = Field(description="the check fields as read or typed: the form's start")
    check_id: str | None = Field(description="the check sent when it was submitted")
    created_by: str
    created_at: datetime
    reviewed_by: str | None = Field(description="user id of the reviewer who submitted it")
    reviewed_at: datetime | None
    page: str | None = Field(description="the rendered first page (PNG), when there is one")

    @classmethod
    def fields_of(cls, item: ReviewInfo) -> dict[str, Any]:
        return {
            "review_id": item.id,
            "kind": item.kind,
            "status": item.status,
            "reason": item.reason,
            "reason_zh": item.reason_zh,
            "reason_en": item.reason_en,
            "file_name": item.file_name,
            "batch_id": item.batch_id,
            "batch_row": item.batch_row,
            "line": item.line,
            "proposed": item.proposed,
            "check_id": item.check_id,
            "created_by": item.created_by,
            "created_at": item.created_at,
            "reviewed_by": item.reviewed_by,
            "reviewed_at": item.reviewed_at,
            "page": f"/v1/reviews/{item.id}/page.png" if item.has_page else None,
        }

    @classmethod
    def of(cls, item: ReviewInfo) -> ReviewSummary:
        return cls(**cls.fields_of(item))


class ReviewOut(ReviewSummary):
    extracted: dict[str, Any] = Field(
        description="documents: each field with its source and confidence, and the disagreements; "
        "rows: the row's values and problems"
    )
    corrected: dict[str, str] | None = Field(description="the fields the reviewer submitted")
    check: str | None = Field(description="the check's location, once submitted")
    history: list[ReviewEventOut]

    @classmethod
    def of(cls, item: ReviewInfo) -> ReviewOut:
        return cls(
            **cls.fields_of(item),
            extracted=item.extracted,
            corrected=item.corrected,
            check=f"/v1/checks/{item.check_id}" if item.check_id else None,
            history=[ReviewEventOut.model_validate(e, from_attributes=True) for e in item.events],
        )


class ReviewPage(BaseModel):
    data: list[ReviewSummary]
    count: int
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null at the end")


class ReviewSubmit(BaseModel):
    """The corrected check: held to the rules of a batch spreadsheet row (docs/batches.md)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    invoice_code: str = Field(default="", max_length=12, description="发票代码 ('' for 数电)")
    invoice_number: str = Field(default="", max_length=20, description="发票号码")
    issue_date: str = Field(default="", max_length=20, description="开票日期, e.g. 2026-11-20")
    amount: str = Field(default="", max_length=20, description="金额 the type asks for (不含税 / 价税合计 …)")
    check_code: str = Field(default="", max_length=20, description="校验码后6位")
