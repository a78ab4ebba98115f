"""Every bound of the event schemas fits the narrowest ClickHouse column it reaches (issue 15).

Derived, not listed: the columns' types come from the migrated schema (chdb's `system.columns`), and
which columns a field reaches from the row builders themselves (`result_row`, `alert_row`, and
`build_result` for the request's fields): each field is changed alone and the columns that change
are the ones it reaches. For each field reaching a bounded column (UInt*, Date, DateTime, Decimal),
the values just outside the column's range on 18.16, and the known poison values of issue 15, must be
refused by the schema at that field, so they go to checks.dlq as unreadable instead of wedging the
sink. A new field reaching such a column without a bound, or a column of a type this test does not
know, fails here. `check_bounds_stored` (also run on the 18.16 server) stores the schema's extremes
and reads them back unchanged.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision
from fapiao.warehouse import alerts as alerts_table
from fapiao.warehouse import migrations
from fapiao.warehouse import results as results_table
from fapiao.warehouse.engine import ChdbEngine, Engine
from schemas.events import (
    REQUEST_CLOCK_SKEW,
    UINT32_MAX,
    CheckRecheck,
    CheckRequested,
    RiskAlert,
    RiskRules,
    Verdict,
)
from tests.bounds_contract import base_result, check_bounds_stored
from tests.factories import check_of, issued, risk_alert

_DT = "DateTime('UTC')"
# What each column type holds on ClickHouse 18.16 (the narrowest engine we run): checked by hand on the
# server (a Date past 2105-12-31, and day 0, read back as 0000-00-00; DateTime is 32-bit unsigned seconds).
RANGES: dict[str, tuple[Any, Any]] = {
    "UInt8": (0, 2**8 - 1),
    "UInt16": (0, 2**16 - 1),
    "UInt32": (0, 2**32 - 1),
    "UInt64": (0, 2**64 - 1),
    "Date": (date(1970, 1, 2), date(2105, 12, 31)),
    _DT: (datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), datetime(2106, 2, 7, 6, 28, 15, tzinfo=UTC)),
    "Decimal(18, 2)": (Decimal("-9999999999999999.99"), Decimal("9999999999999999.99")),
}
UNBOUNDED = {"String", "UUID", "Float64", "Array(String)", "Array(Float64)"}
NOW = datetime.now(UTC).replace(microsecond=0)


def column_types(engine: Engine, table: str) -> dict[str, str]:
    rows = engine.execute(
        "SELECT name, type FROM system.columns WHERE database = %(db)s AND table = %(t)s",
        {"db": engine.database, "t": table},
    )
    return {str(n): str(t) for n, t in rows}


@pytest.fixture(scope="module")
def types() -> Iterator[dict[str, dict[str, str]]]:
    engine = ChdbEngine(database=f"b_{uuid.uuid4().hex[:8]}")
    migrations.migrate(engine)
    yield {t: column_types(engine, t) for t in (results_table.TABLE, alerts_table.TABLE)}
    engine.close()


def base_alert() -> RiskAlert:
    return risk_alert()


def leaves(model: BaseModel, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, value) of every scalar field, into nested models; containers (lines, reasons) skipped."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from leaves(value, (*prefix, name))
        elif not isinstance(value, tuple | list | dict):
            yield (*prefix, name), value


def replaced(model: BaseModel, path: tuple[str, ...], value: Any) -> Any:
    """`model` with the field at `path` set to `value`, without validation (for the row builders)."""
    if len(path) == 1:
        return model.model_copy(update={path[0]: value})
    inner = getattr(model, path[0])
    return model.model_copy(update={path[0]: replaced(inner, path[1:], value)})


def nudged(value: Any) -> Any:
    """Another in-range value of the same kind, to see which columns a field reaches."""
    if value is None:
        return 3
    if isinstance(value, bool):
        return not value
    if isinstance(value, Enum):
        return next(m for m in type(value) if m is not value)
    if isinstance(value, int):
        return value + 1
    if isinstance(value, Decimal):
        return value + Decimal("0.01")
    if isinstance(value, datetime):
        return value + timedelta(days=1, seconds=1)
    if isinstance(value, date):
        return value + timedelta(days=1)
    if isinstance(value, float):
        return value / 2 + 0.25
    if isinstance(value, uuid.UUID):
        return uuid.uuid4()
    return f"{value}x"


def reached(
    model: BaseModel, row: Callable[[Any], tuple[Any, ...]], columns: tuple[str, ...]
) -> dict[tuple[str, ...], set[str]]:
    """Field path -> the columns whose value changes when that field alone changes."""
    before = row(model)
    out: dict[tuple[str, ...], set[str]] = {}
    for path, value in leaves(model):
        after = row(replaced(model, path, nudged(value)))
        out[path] = {c for c, a, b in zip(columns, before, after, strict=True) if a != b}
    return out


def _as_moments(span: tuple[Any, Any]) -> tuple[Any, Any]:
    """A Date column's range as UTC moments (a time reaches a Date as its UTC day: requested_date)."""
    lo, hi = span
    if isinstance(lo, datetime):
        return span
    return datetime.combine(lo, time(), UTC), datetime.combine(hi, time(23, 59, 59), UTC)


def narrowest(kinds: list[str], sample: Any) -> tuple[Any, Any] | None:
    """The range every one of these column types holds, None when none is bounded."""
    for kind in kinds:
        assert kind in RANGES or kind in UNBOUNDED, f"column type {kind} unknown to this test: add its range"
    bounded = [RANGES[k] for k in kinds if k in RANGES]
    if isinstance(sample, datetime):
        bounded = [_as_moments(b) for b in bounded]
    if not bounded:
        return None
    return max(lo for lo, _ in bounded), min(hi for _, hi in bounded)


def outside(sample: Any, lo: Any, hi: Any) -> list[Any]:
    """Values just outside [lo, hi], and issue 15's poison values of that kind."""
    if isinstance(sample, datetime):
        far = [datetime(1969, 12, 31, 23, 0, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)]
        return [lo - timedelta(seconds=1), hi + timedelta(seconds=1), *far]
    if isinstance(sample, date):
        return [lo - timedelta(days=1), hi + timedelta(days=1), date(1, 1, 1), date(9999, 12, 31)]
    if isinstance(sample, Decimal):
        return [lo - Decimal("0.01"), hi + Decimal("0.01"), Decimal("0.001")]
    return [lo - 1, hi + 1, 2**40, 10**15]


def refused_at(model: BaseModel, path: tuple[str, ...], value: Any) -> list[tuple[Any, ...]]:
    """Where the schema refuses `model` with `value` at `path` (from JSON, as the worker reads it)."""
    data = model.model_dump(mode="json")
    node = data
    for name in path[:-1]:
        node = node[name]
    node[path[-1]] = value.isoformat() if isinstance(value, date) else str(value)
    try:
        type(model).model_validate_json(json.dumps(data))
    except ValidationError as exc:
        return [tuple(e["loc"]) for e in exc.errors()]
    return []


def check_model(
    model: BaseModel, row: Callable[[Any], tuple[Any, ...]], columns: tuple[str, ...], types: dict[str, str]
) -> list[str]:
    problems = []
    for path, cols in reached(model, row, columns).items():
        value = getattr(model, path[0]) if len(path) == 1 else dict(leaves(model))[path]
        span = narrowest([types[c] for c in sorted(cols)], value)
        if span is None or value is None:
            continue
        for bad in outside(value, *span):
            if not any(loc[: len(path)] == path for loc in refused_at(model, path, bad)):
                problems.append(f"{type(model).__name__}.{'.'.join(path)} = {bad!r} accepted; reaches {cols}")
    return problems


def test_every_result_field_reaching_a_bounded_column_is_bounded_within_it(types) -> None:  # type: ignore[no-untyped-def]
    mapping = reached(base_result(), results_table.result_row, results_table.COLUMNS)
    # the derivation sees what issue 15 found: these fields reach these narrow columns
    assert mapping[("batch_row",)] == {"batch_row"}
    assert mapping[("requested_at",)] == {"requested_at", "requested_date"}
    assert mapping[("risk", "rule_version")] == {"rule_version"}
    problems = check_model(
        base_result(), results_table.result_row, results_table.COLUMNS, types["check_results"]
    )
    assert problems == []


def test_every_alert_field_reaching_a_bounded_column_is_bounded_within_it(types) -> None:  # type: ignore[no-untyped-def]
    problems = check_model(base_alert(), alerts_table.alert_row, alerts_table.COLUMNS, types["risk_alerts"])
    assert problems == []


def _request_row(request: CheckRequested) -> tuple[Any, ...]:
    """A request's fields reach check_results through its result (the worker copies them)."""
    decision = Decision(Verdict.NOT_FOUND)
    return results_table.result_row(build_result(request, decision, decided_at=NOW, check_count=1))


def test_every_request_field_reaching_a_bounded_column_is_bounded_within_it(types) -> None:  # type: ignore[no-untyped-def]
    request = check_of(issued()).model_copy(update={"batch_id": uuid.uuid4(), "batch_row": 7})
    mapping = reached(request, _request_row, results_table.COLUMNS)
    assert mapping[("issue_date",)] == {"issue_date"} and mapping[("batch_row",)] == {"batch_row"}
    assert check_model(request, _request_row, results_table.COLUMNS, types["check_results"]) == []


def test_the_rules_version_is_bounded_like_the_rule_version_it_becomes() -> None:
    # fapiao.risk.scoring copies RiskRules.version into every score's rule_version (UInt32)
    RiskRules(version=UINT32_MAX)
    for bad in (UINT32_MAX + 1, 10**15):
        with pytest.raises(ValidationError, match="version"):
            RiskRules(version=bad)


def test_a_requested_at_ahead_of_the_clock_is_a_clock_bug() -> None:
    request = check_of(issued())
    now = datetime.now(UTC)  # not the module's NOW: the suite may have run for minutes since its import
    fine = now + REQUEST_CLOCK_SKEW - timedelta(minutes=1)
    CheckRequested.model_validate_json(request.model_copy(update={"requested_at": fine}).model_dump_json())
    for late in (now + REQUEST_CLOCK_SKEW + timedelta(minutes=1), now + timedelta(hours=8)):
        data = request.model_dump(mode="json") | {"requested_at": late.isoformat()}
        with pytest.raises(ValidationError, match="ahead of this clock"):
            CheckRequested.model_validate_json(json.dumps(data))
        recheck = {"check_id": str(uuid.uuid4()), "invoice_key": "12345678", "reason": "refresh"}
        with pytest.raises(ValidationError, match="ahead of this clock"):
            CheckRecheck.model_validate(recheck | {"requested_at": late})
    # the past is bounded only by what is stored: a dead letter replayed long after is genuine
    old = request.model_dump(mode="json") | {"requested_at": "2001-02-03T04:05:06+08:00"}
    CheckRequested.model_validate_json(json.dumps(old))
    # built ahead of its sending (the demo feed's scheduled checks): measured from when it is sent
    later = request.model_dump() | {"requested_at": now + timedelta(hours=8)}
    CheckRequested.model_validate(later, context={"sent_at": now + timedelta(hours=8)})
    with pytest.raises(ValidationError, match="ahead of this clock"):
        CheckRequested.model_validate(later, context={"sent_at": now + timedelta(hours=6)})


_VERDICT_LIST = re.compile(r"verdict\s*(?:IN\s*\(([^)]*)\)|=\s*('[a-z_]+'))", re.IGNORECASE)


def test_every_verdict_the_sql_names_is_a_verdict() -> None:
    sql = "\n".join(p.read_text() for p in sorted(Path(migrations.DEFAULT_DIR).glob("*.sql")))
    named = {
        v.strip().strip("'") for listed, one in _VERDICT_LIST.findall(sql) for v in (listed or one).split(",")
    }
    assert named and named <= {v.value for v in Verdict}


def test_the_schemas_extremes_are_stored_unchanged_on_current_clickhouse() -> None:
    engine = ChdbEngine(database=f"x_{uuid.uuid4().hex[:8]}")
    try:
        check_bounds_stored(engine)
    finally:
        engine.close()
