"""The alert inbox as export rows (pure): columns, values in Beijing time, formulas neutralised.

A spreadsheet runs a cell that starts with = + - @ (or a tab/CR) as a formula; invoice keys and tax
ids never do, but evidence and names come from outside, so every text cell that could is prefixed
with an apostrophe (OWASP's CSV-injection advice).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fapiao.cases.workflow import STATUS_ZH

_LOCAL = ZoneInfo("Asia/Shanghai")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ALERT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("alert_id", "预警编号"),
    ("raised_at", "预警时间"),
    ("severity", "风险等级"),
    ("score", "风险分"),
    ("reasons", "预警原因"),
    ("invoice_key", "发票"),
    ("seller_tax_id", "销售方税号"),
    ("status", "复核状态"),
    ("status_zh", "复核状态(中文)"),
    ("assignee", "处理人"),
    ("due_at", "截止时间"),
    ("check_id", "查验编号"),
)


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _local(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(_LOCAL).replace(tzinfo=None)


def alert_values(item: dict[str, Any]) -> list[Any]:
    """One inbox item (AlertItem as a dict) as export values."""
    case = item["case"]
    values = {
        **item,
        "raised_at": _local(item["raised_at"]),
        "reasons": ";".join(item["reasons"]),
        "status": case["status"],
        "status_zh": STATUS_ZH[case["status"]],
        "assignee": case["assignee"] or "",
        "due_at": _local(case["due_at"]),
    }
    return [neutralise(values[key]) for key, _ in ALERT_COLUMNS]
