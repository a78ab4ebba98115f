"""The batch spreadsheet template: one invoice per row, headers in Chinese or English (or both).

    发票代码/invoice_code, 发票号码/invoice_number, 开票日期/issue_date, 金额/amount, 校验码后6位/check_code

发票代码 is empty for 数电 invoices; give 金额 (不含税金额, 价税合计 for 数电, 车价合计 for 二手车) or
校验码后6位, whichever the invoice type asks for. Dates as 2026-11-20, 20261120, 2026/11/20 or 2026年11月20日.
A header cell may hold either name or both ("发票代码 invoice_code", "发票代码/invoice_code"); other
columns are ignored. Keep 发票代码 and 发票号码 as text in Excel, or leading zeros are lost.
"""

from __future__ import annotations

import re

COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("invoice_code", "发票代码", "invoice code"),
    ("invoice_number", "发票号码", "invoice number"),
    ("issue_date", "开票日期", "issue date"),
    ("amount", "金额", "amount"),
    ("check_code", "校验码后6位", "check code (last 6 digits)"),
)
REQUIRED = ("invoice_number", "issue_date")
_ALIASES: dict[str, str] = {}
for _field, _zh, _en in COLUMNS:
    for _alias in (_field, _zh, _en.replace(" ", "_"), _en.replace(" ", "")):
        _ALIASES[_alias.lower()] = _field
_ALIASES.update(
    {"校验码": "check_code", "价税合计": "amount", "不含税金额": "amount", "开票时间": "issue_date"}
)
_SPLIT = re.compile(r"[\s/|()（）\[\]【】,，:：]+")


# two example rows: an older invoice checked by its check code, a 数电 invoice by its total
EXAMPLE_ROWS: tuple[tuple[str, ...], ...] = (
    ("011002300111", "12345678", "2026-11-20", "", "567890"),
    ("", "26112000000004231957", "2026-11-20", "1130.00", ""),
)


def header_text() -> list[str]:
    """The template's header row: '发票代码/invoice_code', …"""
    return [f"{zh}/{field}" for field, zh, _ in COLUMNS]


def column_of(header: str) -> str | None:
    """The field a header cell names, or None for a column the template does not know."""
    cleaned = header.strip().lstrip("\ufeff").lower()
    for candidate in (cleaned, re.sub(r"\s+", "_", cleaned)):
        if candidate in _ALIASES:
            return _ALIASES[candidate]
    for token in _SPLIT.split(cleaned):
        if token in _ALIASES:
            return _ALIASES[token]
    return None


def map_header(cells: list[str]) -> tuple[dict[int, str], list[str]]:
    """(column index -> field, missing required fields). The first column naming a field wins."""
    mapping: dict[int, str] = {}
    for index, cell in enumerate(cells):
        field = column_of(cell or "")
        if field and field not in mapping.values():
            mapping[index] = field
    missing = [f for f in REQUIRED if f not in mapping.values()]
    return mapping, missing
