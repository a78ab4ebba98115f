"""Saved report definitions, per organisation, in the `report_definitions` table, and running them.

Why ClickHouse rather than a file or another database: every API replica already shares it, it is
backed up with the data the reports read, and definitions are few and small. ReplacingMergeTree keeps
the newest version of each (org_id, report_id); a delete writes a tombstone version. What it lacks is
transactions: two concurrent updates of one report end with the later version, which is acceptable
for definitions a person edits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fapiao.analytics.custom_reports import ReportSpec, ReportTable, compile_report, shape_rows
from fapiao.analytics.filters import time_range
from fapiao.analytics.reveal import open_report
from fapiao.crypto.protect import FieldSealer
from fapiao.warehouse.engine import Engine
from fapiao.warehouse.party_names import sealed_filters

TABLE = "report_definitions"
COLUMNS = (
    "org_id",
    "report_id",
    "version",
    "name",
    "definition",
    "created_by",
    "created_at",
    "updated_at",
    "deleted",
)


@dataclass(frozen=True)
class StoredReport:
    report_id: str
    spec: ReportSpec
    created_by: str
    created_at: datetime
    updated_at: datetime


def _version(now: datetime) -> int:
    return int(now.timestamp() * 1_000_000)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0)


def save(
    engine: Engine,
    org_id: str,
    spec: ReportSpec,
    created_by: str,
    now: datetime,
    report_id: str | None = None,
) -> StoredReport:
    """Create (no id) or replace a definition of this organisation."""
    rid = report_id or str(uuid.uuid4())
    created = now
    if report_id is not None:
        existing = get(engine, org_id, report_id)
        if existing is None:
            raise KeyError(report_id)
        created, created_by = existing.created_at, existing.created_by
    row = (
        org_id,
        uuid.UUID(rid),
        _version(now),
        spec.name,
        spec.model_dump_json(),
        created_by,
        _naive_utc(created),
        _naive_utc(now),
        0,
    )
    engine.insert(TABLE, COLUMNS, [row])
    return StoredReport(rid, spec, created_by, created.replace(microsecond=0), now.replace(microsecond=0))


def delete(engine: Engine, org_id: str, report_id: str, now: datetime) -> bool:
    existing = get(engine, org_id, report_id)
    if existing is None:
        return False
    row = (
        org_id,
        uuid.UUID(report_id),
        _version(now),
        existing.spec.name,
        existing.spec.model_dump_json(),
        existing.created_by,
        _naive_utc(existing.created_at),
        _naive_utc(now),
        1,
    )
    engine.insert(TABLE, COLUMNS, [row])
    return True


_SELECT = (
    "SELECT toString(report_id), definition, created_by, toString(created_at), toString(updated_at) "
    f"FROM {TABLE} FINAL WHERE org_id = %(org_id)s AND deleted = 0"
)


def _stored(row: tuple[Any, ...]) -> StoredReport:
    rid, definition, created_by, created, updated = row
    return StoredReport(
        str(rid),
        ReportSpec.model_validate_json(definition),
        str(created_by),
        datetime.fromisoformat(str(created)).replace(tzinfo=UTC),
        datetime.fromisoformat(str(updated)).replace(tzinfo=UTC),
    )


def list_reports(engine: Engine, org_id: str) -> list[StoredReport]:
    rows = engine.execute(f"{_SELECT} ORDER BY updated_at DESC, report_id", {"org_id": org_id})
    return [_stored(r) for r in rows]


def get(engine: Engine, org_id: str, report_id: str) -> StoredReport | None:
    try:
        uuid.UUID(report_id)
    except ValueError:
        return None
    params = {"org_id": org_id, "rid": report_id}
    rows = engine.execute(f"{_SELECT} AND toString(report_id) = %(rid)s", params)
    return _stored(rows[0]) if rows else None


def run(
    engine: Engine, org_id: str, spec: ReportSpec, today: date, sealer: FieldSealer | None = None
) -> ReportTable:
    """The report's table for this organisation (scoped in its compiled SQL). With the `sealer`, its
    seller/buyer/requester filters match the sealed columns and those columns come back opened."""
    if sealer is None:
        compiled = compile_report(org_id, spec, today)
        return shape_rows(spec, compiled, engine.execute(compiled.sql, compiled.params))
    first, last = spec.period(today)
    filters = spec.filters.check_filters(first, last)
    filters = sealed_filters(engine, org_id, filters, time_range(filters, today), sealer)
    compiled = compile_report(org_id, spec, today, filters)
    return open_report(sealer, shape_rows(spec, compiled, engine.execute(compiled.sql, compiled.params)))
