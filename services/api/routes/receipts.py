"""Verification receipts (查验证明): `GET /v1/checks/{id}/receipt` (SM2-signed JSON, or `?format=pdf`) and
the public key that verifies them, `GET /v1/keys/receipt-public-key`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from fapiao.accounts import audit
from fapiao.accounts.context import AccountsContext
from fapiao.crypto import sm2
from fapiao.receipts import pdf, signing
from fapiao.warehouse.results import latest_result
from services.api.deps import StateDep
from services.api.models import CheckView
from services.api.principal import Principal, ReadPrincipal, accounts_of, client_ip

router = APIRouter(tags=["receipts"])
NOT_FOUND = {"code": "not_found", "msg": "no such check", "msg_zh": "查无此查验请求"}
NOT_DECIDED = {
    "code": "not_decided",
    "msg": "the check has no final verdict yet",
    "msg_zh": "该查验尚无最终结果",
}


async def _decided_check(state: StateDep, principal: Principal, check_id: UUID) -> dict[str, Any]:  # type: ignore[valid-type]
    """The caller's own decided check as JSON-ready values; 404 for anyone else's (no hint it exists)."""
    cached = state.cache.get(check_id)
    if cached is not None and cached.org_id == principal.org_id:
        view, ident = CheckView.from_result(cached), cached.model_dump(mode="json")
    else:
        row = await state.query(latest_result, principal.org_id, check_id)
        if row is None:
            pending = state.cache.was_submitted(check_id, principal.org_id)
            raise HTTPException(409 if pending else 404, detail=NOT_DECIDED if pending else NOT_FOUND)
        view, ident = (
            CheckView.from_row(row),
            {k: str(row[k]) for k in ("invoice_code", "invoice_number", "issue_date")},
        )
    if view.status != "done":
        raise HTTPException(409, detail=NOT_DECIDED)
    check = view.model_dump(mode="json")
    check.update({k: ident[k] for k in ("invoice_code", "invoice_number", "issue_date")})
    return check


def _sign(
    ctx: AccountsContext, principal: Principal, check: dict[str, Any], fmt: str, ip: str | None
) -> dict[str, Any]:
    now = ctx.clock()
    document = signing.sign(signing.build(check, principal.org_id, datetime.now(UTC)), ctx.keys.receipt_keys)
    with ctx.sessions.begin() as s:
        audit.record(
            s,
            now,
            "receipt.exported",
            principal.subject,
            principal.org_id,
            ip=ip,
            check_id=check["check_id"],
            receipt_id=document["receipt"]["receipt_id"],
            format=fmt,
        )
    return document


@router.get(
    "/v1/checks/{check_id}/receipt",
    summary="Verification receipt (查验证明): SM2-signed JSON, or a PDF with ?format=pdf",
    responses={
        200: {"content": {"application/json": {}, "application/pdf": {}}},
        409: {"description": "not decided"},
    },
)
async def receipt(
    check_id: UUID,
    state: StateDep,
    principal: ReadPrincipal,
    request: Request,
    format: Annotated[Literal["json", "pdf"], Query(description="json (signed) or pdf")] = "json",
) -> Response:
    check = await _decided_check(state, principal, check_id)
    accounts = accounts_of(request)
    document = await run_in_threadpool(_sign, accounts.ctx, principal, check, format, client_ip(request))
    name = f"receipt-{check_id}"
    if format == "pdf":
        body = await run_in_threadpool(pdf.render, document)
        return Response(
            body,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
        )
    return JSONResponse(document, headers={"Content-Disposition": f'inline; filename="{name}.json"'})


@router.get(
    "/v1/keys/receipt-public-key",
    summary="The SM2 public key that verifies receipts (PEM; ?format=hex for x||y)",
    response_class=PlainTextResponse,
)
async def receipt_public_key(
    request: Request, format: Annotated[Literal["pem", "hex"], Query()] = "pem"
) -> PlainTextResponse:
    public = accounts_of(request).ctx.keys.receipt_keys.public
    text = sm2.public_key_pem(public) if format == "pem" else sm2.public_hex(public) + "\n"
    return PlainTextResponse(
        text,
        media_type="application/x-pem-file" if format == "pem" else "text/plain",
        headers={"X-Key-Fingerprint": sm2.fingerprint(public)},
    )
