"""Turning a decision into the `checks.results` event (pure)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fapiao.domain.invoice_codes import UNKNOWN_FPLX, fplx_from_code
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.verification import Decision
from schemas.events import CheckRequested, CheckResult


def result_id(check_id: uuid.UUID, version: int) -> uuid.UUID:
    """Deterministic id of a check's `version`-th result, so a redelivered request yields the same id."""
    return uuid.uuid5(check_id, f"result-{version}")


def requested_fplx(request: CheckRequested) -> str:
    """The type as far as the request tells it: from the code; '' for 数电 (专/普 not told) or unknown."""
    if not request.invoice_code:
        return ""
    fplx = fplx_from_code(request.invoice_code)
    return "" if fplx == UNKNOWN_FPLX else fplx


def build_result(
    request: CheckRequested,
    decision: Decision,
    *,
    decided_at: datetime,
    check_count: int,
    version: int = 1,
    follow_up: bool = False,
) -> CheckResult:
    face = decision.invoice
    return CheckResult(
        result_id=result_id(request.check_id, version),
        check_id=request.check_id,
        result_version=version,
        requested_at=request.requested_at,
        decided_at=decided_at,
        org_id=request.org_id,
        requester=request.requester,
        channel=request.channel,
        batch_id=request.batch_id,
        batch_row=request.batch_row,
        invoice_key=invoice_key(request.invoice_code, request.invoice_number),
        fplx=face.fplx if face else requested_fplx(request),
        invoice_code=request.invoice_code,
        invoice_number=request.invoice_number,
        issue_date=request.issue_date,
        verdict=decision.verdict,
        message_zh=decision.message_zh,
        message_en=decision.message_en,
        mismatched_fields=decision.mismatched_fields,
        check_count=check_count,
        invoice=face,
        follow_up=follow_up,
    )
