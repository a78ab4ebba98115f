"""定制化报表: custom report definitions and their compilation to one SQL query.

A definition names dimensions and metrics from fixed enums (each maps to SQL written here), filters
whose values become bound parameters, a period and an output format. So no definition can put its
own text into SQL: identifiers are whitelisted, values are parameters. Reports count each check once,
at its newest result (FINAL), like the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fapiao.analytics.catalog import PENDING, REGION_SQL, Bucket, Dimension, bucket_sql, label
from fapiao.analytics.filters import CheckFilters, compile_filters, time_range

MAX_ROWS = 100_000
HIGH_RISK = 60  # the risk rules' default alert threshold


class ReportDimension(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    REGION = "region"
    TYPE = "type"
    VERDICT = "verdict"
    SELLER = "seller"
    BUYER = "buyer"
    REQUESTER = "requester"
    CHANNEL = "channel"
    RISK_SEVERITY = "risk_severity"


class ReportMetric(StrEnum):
    CHECKS = "checks"
    CONSISTENT = "consistent"
    INCONSISTENT = "inconsistent"
    NOT_FOUND = "not_found"
    VOIDED = "voided"
    RED_FLUSHED = "red_flushed"
    ABNORMAL = "abnormal"
    PENDING = "pending"
    CONSISTENT_RATE = "consistent_rate"
    INCONSISTENT_RATE = "inconsistent_rate"
    AMOUNT = "amount"
    VERIFIED_AMOUNT = "verified_amount"
    TAX = "tax"
    AVG_RISK_SCORE = "avg_risk_score"
    MAX_RISK_SCORE = "max_risk_score"
    HIGH_RISK = "high_risk"


class OutputFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


_TIME = {
    ReportDimension.HOUR: Bucket.HOUR,
    ReportDimension.DAY: Bucket.DAY,
    ReportDimension.WEEK: Bucket.WEEK,
    ReportDimension.MONTH: Bucket.MONTH,
}
# dimension -> its output columns and their SQL; a label column (name) is added in Python
_DIMENSION_SQL: dict[ReportDimension, tuple[tuple[str, str], ...]] = {
    **{d: ((d.value, bucket_sql(b, "requested_at")),) for d, b in _TIME.items()},
    ReportDimension.REGION: (("region", REGION_SQL),),
    ReportDimension.TYPE: (("type", "fplx"),),
    ReportDimension.VERDICT: (("verdict", "verdict"),),
    # sealed (migration 010): grouped by pseudonym, with any envelope of the party, which the API opens
    # into the tax id and name (fapiao.analytics.reveal.open_report)
    ReportDimension.SELLER: (("seller_tax_id", "seller_ref"), ("seller_name", "any(seller_sealed)")),
    ReportDimension.BUYER: (("buyer_tax_id", "buyer_ref"), ("buyer_name", "any(buyer_sealed)")),
    ReportDimension.REQUESTER: (
        ("requester", "requester_ref"),
        ("requester_sealed", "any(requester_sealed)"),
    ),
    ReportDimension.CHANNEL: (("channel", "channel"),),
    ReportDimension.RISK_SEVERITY: (("risk_severity", "risk_severity"),),
}
_LABELLED = {
    ReportDimension.REGION: Dimension.REGION,
    ReportDimension.TYPE: Dimension.TYPE,
    ReportDimension.VERDICT: Dimension.VERDICT,
}
_ANSWERED = f"countIf(verdict != '{PENDING}')"
# metric -> (SQL, kind): kinds say how a value comes back (counts, money as text, ratios)
_METRIC_SQL: dict[ReportMetric, tuple[str, str]] = {
    ReportMetric.CHECKS: ("count()", "int"),
    ReportMetric.CONSISTENT: ("countIf(verdict = 'consistent')", "int"),
    ReportMetric.INCONSISTENT: ("countIf(verdict = 'inconsistent')", "int"),
    ReportMetric.NOT_FOUND: ("countIf(verdict = 'not_found')", "int"),
    ReportMetric.VOIDED: ("countIf(verdict = 'voided')", "int"),
    ReportMetric.RED_FLUSHED: ("countIf(verdict IN ('red_flushed_partial', 'red_flushed_full'))", "int"),
    ReportMetric.ABNORMAL: ("countIf(verdict = 'abnormal')", "int"),
    ReportMetric.PENDING: (f"countIf(verdict = '{PENDING}')", "int"),
    ReportMetric.CONSISTENT_RATE: (f"countIf(verdict = 'consistent') / nullIf({_ANSWERED}, 0)", "ratio"),
    ReportMetric.INCONSISTENT_RATE: (f"countIf(verdict = 'inconsistent') / nullIf({_ANSWERED}, 0)", "ratio"),
    ReportMetric.AMOUNT: ("sum(total)", "money"),
    ReportMetric.VERIFIED_AMOUNT: ("sumIf(total, verdict = 'consistent')", "money"),
    ReportMetric.TAX: ("sum(tax)", "money"),
    ReportMetric.AVG_RISK_SCORE: ("avg(risk_score)", "ratio"),
    ReportMetric.MAX_RISK_SCORE: ("max(risk_score)", "int"),
    ReportMetric.HIGH_RISK: (f"countIf(risk_score >= {HIGH_RISK})", "int"),
}


class ReportFilters(BaseModel):
    """The filters of a report (the same as the history's), validated like them."""

    model_config = ConfigDict(extra="forbid")

    verdicts: list[str] = Field(default_factory=list, max_length=20)
    types: list[str] = Field(default_factory=list, max_length=20)
    regions: list[str] = Field(default_factory=list, max_length=50)
    seller: str | None = Field(default=None, max_length=100)
    buyer: str | None = Field(default=None, max_length=100)
    amount_min: Decimal | None = Field(default=None, ge=0, max_digits=16, decimal_places=2)
    amount_max: Decimal | None = Field(default=None, ge=0, max_digits=16, decimal_places=2)
    invoice_number: str | None = None
    invoice_code: str | None = None
    requester: str | None = Field(default=None, max_length=100)
    min_risk_score: int | None = Field(default=None, ge=0, le=100)

    def check_filters(self, date_from: date | None, date_to: date | None) -> CheckFilters:
        fields = self.model_dump()
        for many in ("verdicts", "types", "regions"):
            fields[many] = tuple(fields[many])
        return CheckFilters(date_from=date_from, date_to=date_to, **fields)


class ReportSpec(BaseModel):
    """A saved report: what to group by, what to count, which checks, which period, which format."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    dimensions: list[ReportDimension] = Field(default_factory=list, max_length=3)
    metrics: list[ReportMetric] = Field(min_length=1, max_length=16)
    filters: ReportFilters = Field(default_factory=ReportFilters)
    period_days: int = Field(default=30, ge=1, le=3660, description="the last N days, when no dates")
    date_from: date | None = None
    date_to: date | None = None
    sort_by: str | None = Field(default=None, description="a chosen metric or dimension; default: 1st metric")
    descending: bool = True
    limit: int = Field(default=1000, ge=1, le=MAX_ROWS)
    format: OutputFormat = OutputFormat.JSON

    @model_validator(mode="after")
    def _consistent(self) -> ReportSpec:
        if len(set(self.dimensions)) != len(self.dimensions) or len(set(self.metrics)) != len(self.metrics):
            raise ValueError("dimensions and metrics must not repeat")
        if sum(d in _TIME for d in self.dimensions) > 1:
            raise ValueError("at most one time dimension (hour, day, week or month)")
        if self.sort_by is not None and self.sort_by not in {*self.dimensions, *self.metrics}:
            raise ValueError("sort_by must be one of the report's dimensions or metrics")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        self.filters.check_filters(self.date_from, self.date_to)  # raises on bad values
        return self

    def period(self, today: date) -> tuple[date, date]:
        last = self.date_to or today
        return self.date_from or last - timedelta(days=self.period_days - 1), last


@dataclass(frozen=True)
class CompiledReport:
    sql: str
    params: dict[str, Any]
    columns: tuple[str, ...]  # SQL result columns, in order
    kinds: tuple[str, ...]  # "text" for dimensions, else the metric kind


def compile_report(
    org_id: str, spec: ReportSpec, today: date, filters: CheckFilters | None = None
) -> CompiledReport:
    """`filters` replaces the spec's (its sealed form: fapiao.warehouse.party_names.sealed_filters)."""
    first, last = spec.period(today)
    filters = filters or spec.filters.check_filters(first, last)
    compiled = compile_filters(org_id, filters, time_range(filters, today))
    dims = [pair for d in spec.dimensions for pair in _DIMENSION_SQL[d]]
    select = [f"{sql}" for _, sql in dims]
    kinds = ["text"] * len(dims)
    for metric in spec.metrics:
        sql, kind = _METRIC_SQL[metric]
        select.append(f"toString({sql})" if kind == "money" else sql)
        kinds.append(kind)
    sort = spec.sort_by or spec.metrics[0].value
    if sort in {m.value for m in spec.metrics}:
        order, kind = _METRIC_SQL[ReportMetric(sort)]
        if kind == "money":  # 18.16 sorts Decimal-then-other-columns pathologically slowly
            order = f"toFloat64({order})"
    else:
        order = ", ".join(sql for _, sql in _DIMENSION_SQL[ReportDimension(sort)] if not _aggregated(sql))
    direction = "DESC" if spec.descending else "ASC"
    keys = [sql for _, sql in dims if not _aggregated(sql)]
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    tiebreak = "".join(f", {sql}" for sql in keys)
    sql = (
        f"SELECT {', '.join(select)} FROM check_results FINAL {compiled.clauses(final=True)}{group} "
        f"ORDER BY {order} {direction}{tiebreak} LIMIT %(limit)s"
    )
    columns = tuple([name for name, _ in dims] + [m.value for m in spec.metrics])
    return CompiledReport(sql, {**compiled.params, "limit": spec.limit}, columns, tuple(kinds))


@dataclass(frozen=True)
class ReportTable:
    columns: list[str]
    rows: list[list[Any]]


def shape_rows(spec: ReportSpec, compiled: CompiledReport, rows: list[tuple[Any, ...]]) -> ReportTable:
    """Typed values, plus a name column after each region, type and verdict column."""
    columns: list[str] = []
    extra: dict[int, Dimension] = {}
    for index, name in enumerate(compiled.columns):
        columns.append(name)
        for report_dim, dim in _LABELLED.items():
            if name == _DIMENSION_SQL[report_dim][0][0] and report_dim in spec.dimensions:
                columns.append(f"{name}_name")
                extra[index] = dim
    table = []
    for row in rows:
        out: list[Any] = []
        for index, (value, kind) in enumerate(zip(row, compiled.kinds, strict=True)):
            out.append(_typed(value, kind))
            if index in extra:
                out.append(label(extra[index], str(value))[0])
        table.append(out)
    return ReportTable(columns, table)


def _aggregated(sql: str) -> bool:
    return sql.startswith("any(")


def _typed(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "int":
        return int(value)
    if kind == "money":
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if kind == "ratio":
        number = float(value)
        return None if number != number else round(number, 4)  # NaN: nothing to divide
    return str(value)
