"""`/v1/alerts/{alert_id}` and its case (人工复核): read it, move it through the workflow, assign it,
set its due time, comment, and triage many at once. Analysts (and admins) act; decisions are written
to ClickHouse `alert_decisions` in the same step, as the labels the risk model learns from."""

from __future__ import annotations

import asyncio
from uuid import UUID

from clickhouse_driver.errors import Error as ClickHouseError
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from fapiao.accounts.exceptions import AccountsError
from fapiao.cases import store
from fapiao.warehouse.alert_inbox import fetch_alerts, insert_decisions
from services.api import alert_inbox
from services.api.case_models import BulkCaseUpdate, BulkItemOut, BulkOut, CaseOut, CaseUpdate, CommentIn
from services.api.deps import StateDep
from services.api.opened_results import open_alert
from services.api.people import shown_people
from services.api.principal import AlertsPrincipal, AnalystPrincipal, Principal, accounts_of, client_ip
from services.api.state import ApiState

router = APIRouter(tags=["alerts"])
DECISION_WRITE_SECONDS = 15.0


def _not_found(alert_id: str) -> HTTPException:
    return HTTPException(
        status_code=404,
        detail={
            "code": "not_found",
            "msg": f"no alert {alert_id} in your organisation",
            "msg_zh": "本组织没有该预警",
        },
    )


def _decisions_writer(state: ApiState, loop: asyncio.AbstractEventLoop):  # type: ignore[no-untyped-def]
    """`on_decision` for the cases store, which runs in a worker thread: the insert goes through the
    API's one warehouse connection on the loop, and the case's transaction waits for it."""

    def write(row: store.DecisionRow) -> None:
        future = asyncio.run_coroutine_threadsafe(state.query(insert_decisions, [row]), loop)
        future.result(DECISION_WRITE_SECONDS)

    return write


def _wanted(principal: Principal, body: CaseUpdate | BulkCaseUpdate) -> store.Change:
    given = body.model_fields_set
    assignee: object = store.UNSET
    if "assignee" in given:
        assignee = principal.subject if body.assignee == "me" else body.assignee
    due: object = store.UNSET
    if isinstance(body, CaseUpdate) and "due_at" in given:
        due = body.due_at
    return store.Change(status=body.status, assignee=assignee, due_at=due, comment=body.comment)


async def _apply(
    request: Request, state: ApiState, principal: Principal, ref: store.AlertRef, wanted: store.Change
) -> store.CaseInfo:
    try:
        return await run_in_threadpool(
            store.change,
            accounts_of(request).ctx,
            principal.org_id,
            principal.subject,
            ref,
            wanted,
            _decisions_writer(state, asyncio.get_running_loop()),
            client_ip(request),
        )
    except (ClickHouseError, OSError, EOFError, TimeoutError) as exc:  # the warehouse: nothing was recorded
        raise HTTPException(
            status_code=503,
            detail={
                "code": "warehouse_unavailable",
                "msg": "the decision could not be stored: nothing changed, try again",
                "msg_zh": "复核结论暂时无法保存，未做任何更改，请重试",
            },
        ) from exc


@router.get("/v1/alerts/{alert_id}", response_model=CaseOut, summary="An alert with its case and history")
async def get_case(alert_id: UUID, request: Request, state: StateDep, principal: AlertsPrincipal) -> CaseOut:
    key = str(alert_id)
    found = await state.query(fetch_alerts, principal.org_id, [key])
    if key not in found:
        raise _not_found(key)
    alert = open_alert(state.sealer, found[key])
    ref = store.AlertRef(key, str(alert.check_id), alert.invoice_key, tuple(alert.reasons), alert.severity)
    case = await run_in_threadpool(store.get, accounts_of(request).ctx, principal.org_id, ref)
    return CaseOut.of(alert, case, shown_people(request, principal))


@router.patch("/v1/alerts/{alert_id}/case", response_model=CaseOut, summary="Change the case (analysts)")
async def change_case(
    alert_id: UUID, body: CaseUpdate, request: Request, state: StateDep, principal: AnalystPrincipal
) -> CaseOut:
    key = str(alert_id)
    found = await state.query(fetch_alerts, principal.org_id, [key])
    if key not in found:
        raise _not_found(key)
    alert = open_alert(state.sealer, found[key])
    ref = store.AlertRef(key, str(alert.check_id), alert.invoice_key, tuple(alert.reasons), alert.severity)
    case = await _apply(request, state, principal, ref, _wanted(principal, body))
    return CaseOut.of(alert, case, shown_people(request, principal))


@router.post(
    "/v1/alerts/{alert_id}/case/comments",
    response_model=CaseOut,
    status_code=201,
    summary="Comment on a case",
)
async def comment_case(
    alert_id: UUID, body: CommentIn, request: Request, state: StateDep, principal: AnalystPrincipal
) -> CaseOut:
    return await change_case(alert_id, CaseUpdate(comment=body.text), request, state, principal)


@router.post("/v1/alerts/cases/bulk", response_model=BulkOut, summary="One change to many cases (analysts)")
async def bulk_change(
    body: BulkCaseUpdate, request: Request, state: StateDep, principal: AnalystPrincipal
) -> BulkOut:
    ids = list(dict.fromkeys(body.alert_ids))
    found = await alert_inbox.refs(state, principal, ids)
    wanted = _wanted(principal, body)
    out: list[BulkItemOut] = []
    for alert_id in ids:
        if alert_id not in found:
            out.append(
                BulkItemOut(
                    alert_id=alert_id, ok=False, code="not_found", msg="no such alert", msg_zh="没有该预警"
                )
            )
            continue
        try:
            case = await _apply(request, state, principal, found[alert_id], wanted)
        except AccountsError as exc:
            out.append(
                BulkItemOut(alert_id=alert_id, ok=False, code=exc.code, msg=exc.msg_en, msg_zh=exc.msg_zh)
            )
            continue
        out.append(BulkItemOut(alert_id=alert_id, ok=True, status=case.status))  # type: ignore[arg-type]
    return BulkOut(data=out, count=len(out), changed=sum(o.ok for o in out))
