"""HTTP models of `/v1/batches`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field


class ProblemView(BaseModel):
    field: str = Field(description="the column (invoice_code, issue_date …) or 'file' for a document")
    code: str
    message_zh: str
    message_en: str


class RejectionView(BaseModel):
    row: int = Field(description="1-based position in the batch")
    line: int | None = Field(default=None, description="line in the spreadsheet (header = 1)")
    file: str | None = Field(default=None, description="the document's name (documents)")
    problems: list[ProblemView]


class BatchCounts(BaseModel):
    batch_id: UUID
    kind: Literal["rows", "documents"]
    file_name: str
    state: Literal["receiving", "accepted", "failed"]
    total: int = Field(description="rows or documents received")
    accepted: int = Field(description="published as checks")
    rejected: int = Field(description="refused, with reasons (see rejections and the results file)")
    created_at: datetime


class BatchAccepted(BatchCounts):
    location: str
    results: str = Field(description="the results file (CSV; add ?format=xlsx for Excel)")
    rejections: list[RejectionView] = Field(description="the first 100 rejected rows")


class BatchView(BatchCounts):
    done: int = Field(description="checks with a final verdict")
    pending: int = Field(description="accepted checks without a final verdict yet (incl. pending_sync)")
    finished: bool = Field(description="every accepted check has a final verdict")
    by_verdict: dict[str, int] = Field(description="current verdicts, pending_sync included")
    rejections: list[RejectionView] = Field(description="the first 100 rejected rows")
