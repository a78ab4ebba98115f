"""`/v1/reports`: 定制化报表 — saved report definitions of the organisation, run on demand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse

from fapiao.analytics.custom_reports import OutputFormat, ReportSpec
from fapiao.analytics.export import table_bytes
from fapiao.analytics.filters import local_today
from fapiao.warehouse import report_store
from services.api.analytics_models import ReportDefinitionOut, ReportListOut, ReportResultOut
from services.api.deps import StateDep
from services.api.principal import ChangePrincipal, Principal, ReadPrincipal
from services.api.routes.history import check_dates, invalid
from services.api.state import ApiState

router = APIRouter(prefix="/v1/reports", tags=["reports"])
_NOT_FOUND = {"code": "not_found", "msg": "no such report", "msg_zh": "没有这个报表"}
_MEDIA = {
    OutputFormat.CSV: "text/csv; charset=utf-8",
    OutputFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _shows_authors(principal: Principal) -> bool:
    """Who saved a report (a user id) is shown to the organisation's users, never to API keys: an id is
    half of a forged session, and a system reading reports has no use for it."""
    return principal.kind == "user"


async def _get(state: ApiState, org_id: str, report_id: str) -> report_store.StoredReport:
    stored: report_store.StoredReport | None = await state.query(report_store.get, org_id, report_id)
    if stored is None:
        raise HTTPException(status_code=404, detail=_NOT_FOUND)
    return stored


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=ReportDefinitionOut, summary="Save a report"
)
async def create_report(spec: ReportSpec, state: StateDep, principal: ChangePrincipal) -> ReportDefinitionOut:
    saved = await state.query(report_store.save, principal.org_id, spec, principal.subject, datetime.now(UTC))
    return ReportDefinitionOut.of(saved, _shows_authors(principal))


@router.get("", response_model=ReportListOut, summary="Your organisation's saved reports")
async def list_reports(state: StateDep, principal: ReadPrincipal) -> ReportListOut:
    stored = await state.query(report_store.list_reports, principal.org_id)
    authors = _shows_authors(principal)
    return ReportListOut(data=[ReportDefinitionOut.of(s, authors) for s in stored], count=len(stored))


@router.get("/{report_id}", response_model=ReportDefinitionOut, summary="One saved report")
async def get_report(report_id: str, state: StateDep, principal: ReadPrincipal) -> ReportDefinitionOut:
    return ReportDefinitionOut.of(await _get(state, principal.org_id, report_id), _shows_authors(principal))


@router.put("/{report_id}", response_model=ReportDefinitionOut, summary="Replace a saved report")
async def replace_report(
    report_id: str, spec: ReportSpec, state: StateDep, principal: ChangePrincipal
) -> ReportDefinitionOut:
    await _get(state, principal.org_id, report_id)
    saved = await state.query(
        report_store.save, principal.org_id, spec, principal.subject, datetime.now(UTC), report_id
    )
    return ReportDefinitionOut.of(saved, _shows_authors(principal))


@router.delete("/{report_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a saved report")
async def delete_report(report_id: str, state: StateDep, principal: ChangePrincipal) -> Response:
    if not await state.query(report_store.delete, principal.org_id, report_id, datetime.now(UTC)):
        raise HTTPException(status_code=404, detail=_NOT_FOUND)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{report_id}/run",
    response_model=ReportResultOut,
    summary="Run a saved report (JSON, or a CSV/XLSX file)",
    responses={200: {"content": {"text/csv": {}, _MEDIA[OutputFormat.XLSX]: {}}}},
)
async def run_report(
    report_id: str,
    state: StateDep,
    principal: ReadPrincipal,
    format: Annotated[OutputFormat | None, Query(description="default: the report's own format")] = None,
    date_from: Annotated[date | None, Query(description="override the report's period")] = None,
    date_to: Annotated[date | None, Query()] = None,
) -> Response:
    check_dates(date_from=date_from, date_to=date_to)
    stored = await _get(state, principal.org_id, report_id)
    spec = stored.spec
    if date_from or date_to:
        try:
            spec = ReportSpec.model_validate(
                spec.model_dump()
                | {"date_from": date_from or spec.date_from, "date_to": date_to or spec.date_to}
            )
        except ValueError as exc:
            raise invalid(str(exc)) from exc
    today = local_today(datetime.now(UTC))
    table = await state.query(report_store.run, principal.org_id, spec, today, state.sealer)
    first, last = spec.period(today)
    chosen = format or spec.format
    if chosen is OutputFormat.JSON:
        out = ReportResultOut(
            report_id=stored.report_id,
            name=spec.name,
            date_from=first,
            date_to=last,
            generated_at=datetime.now(UTC),
            columns=table.columns,
            rows=table.rows,
        )
        return JSONResponse(out.model_dump(mode="json"))
    body = table_bytes(table.columns, table.rows, chosen.value, spec.name)
    name = f"report-{stored.report_id[:8]}-{first:%Y%m%d}-{last:%Y%m%d}.{chosen.value}"
    return Response(
        body, media_type=_MEDIA[chosen], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
