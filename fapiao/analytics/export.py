"""CSV and XLSX files of history pages, alerts, batch results and report tables.

Every cell of every export passes `csv_value` (CSV) or `xlsx_value` (XLSX): a text that a spreadsheet
would run as a formula (a seller name or a rejected cell starting with `=`, `+`, `-`, `@`, a tab or a
carriage return — issue 16) is neutralised as OWASP recommends: CSV gets a leading apostrophe, XLSX
keeps the text as a string cell with Excel's quote prefix, never a formula.

CSV is written page by page (UTF-8 with a BOM, so Excel reads the Chinese), for streaming. XLSX uses
openpyxl's write-only mode (rows go to a temporary file, not into memory) and is finished once at the
end, because a workbook is a ZIP whose directory comes last.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from fapiao.analytics.catalog import ANALYTICS_TZ, VERDICT_ZH, Dimension, label

# (key, 中文 header) of each exported history column, in order
HISTORY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("check_id", "查验编号"),
    ("requested_at", "查验时间"),
    ("decided_at", "结果时间"),
    ("requester", "查验人"),
    ("channel", "渠道"),
    ("batch_id", "批次"),
    ("verdict", "查验结果代码"),
    ("verdict_zh", "查验结果"),
    ("fplx", "发票类型代码"),
    ("type_name", "发票类型"),
    ("region", "地区代码"),
    ("region_name", "地区"),
    ("invoice_code", "发票代码"),
    ("invoice_number", "发票号码"),
    ("issue_date", "开票日期"),
    ("seller_tax_id", "销售方纳税人识别号"),
    ("seller_name", "销售方名称"),
    ("buyer_tax_id", "购买方纳税人识别号"),
    ("buyer_name", "购买方名称"),
    ("amount", "金额"),
    ("tax", "税额"),
    ("total", "价税合计"),
    ("invoice_status", "发票状态"),
    ("check_count", "查验次数"),
    ("follow_up", "后续结果"),
    ("result_version", "结果版本"),
    ("mismatched_fields", "不一致项"),
    ("risk_score", "风险分"),
    ("risk_severity", "风险等级"),
)
_LOCAL = ZoneInfo(ANALYTICS_TZ)


def history_values(item: dict[str, Any]) -> list[Any]:
    """One history item as export values (names added, times in Beijing time)."""
    extra = {
        "verdict_zh": VERDICT_ZH.get(item["verdict"], item["verdict"]),
        "type_name": label(Dimension.TYPE, item["fplx"])[0],
        "region_name": label(Dimension.REGION, item["region"])[0],
    }
    out = []
    for key, _ in HISTORY_COLUMNS:
        value = extra[key] if key in extra else item.get(key)
        if isinstance(value, datetime):
            value = value.astimezone(_LOCAL).replace(tzinfo=None)
        elif isinstance(value, list):
            value = ";".join(value)
        elif isinstance(value, bool):
            value = int(value)
        out.append(value)
    return out


# what makes Excel, LibreOffice or Numbers read a cell as a formula (OWASP "CSV Injection"), and the
# full-width forms a Chinese input method types
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS)


def neutralise(text: str) -> str:
    """A text as a CSV cell that no spreadsheet evaluates: a leading apostrophe when it could be one."""
    return "'" + text if is_formula_like(text) else text


def csv_value(value: Any) -> Any:
    """Any exported value as a CSV field (texts neutralised; numbers and dates as they are)."""
    if isinstance(value, str):
        return neutralise(value)
    return _text(value)


def _text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | Decimal):
        return str(value)
    return "" if value is None else value


def csv_chunk(rows: Iterable[Sequence[Any]], header: Sequence[str] | None = None) -> bytes:
    """CSV lines of these rows (with a BOM and the header when given: the first chunk)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header is not None:
        buffer.write("\ufeff")
        writer.writerow(header)
    for row in rows:
        writer.writerow([csv_value(v) for v in row])
    return buffer.getvalue().encode("utf-8")


class XlsxWriter:
    """A write-only workbook: a bold header, then rows as they come; `finish` writes it out."""

    def __init__(self, title: str, header: Sequence[str], notes: Sequence[tuple[str, str]] = ()) -> None:
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title[:31] or "Sheet")
        bold = Font(bold=True)
        cells = []
        for name in header:
            cell = WriteOnlyCell(self._sheet, value=name)
            cell.font = bold
            cells.append(cell)
        self._sheet.append(cells)
        self._notes = notes

    def add(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self._sheet.append([xlsx_value(self._sheet, v) for v in row])

    def finish(self, out: IO[bytes]) -> None:
        if self._notes:
            about = self._book.create_sheet("说明 About")
            for pair in self._notes:
                about.append(list(pair))
        self._book.save(out)


def xlsx_value(sheet: Any, value: Any) -> Any:
    """Any exported value as an XLSX cell of a write-only `sheet`: a formula-like text becomes a string
    cell with the quote prefix (shown as typed, never run, not even after editing it)."""
    if isinstance(value, Decimal):
        return float(value) if abs(value) < 10**15 else str(value)
    if isinstance(value, list):
        value = ";".join(map(str, value))
    if isinstance(value, str) and is_formula_like(value):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # openpyxl types a text starting with "=" as a formula
        cell.quotePrefix = True
        return cell
    return value


def table_bytes(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, title: str) -> bytes:
    """A whole (report) table as CSV or XLSX bytes."""
    if fmt == "csv":
        return csv_chunk(rows, header=columns)
    writer = XlsxWriter(title, columns)
    writer.add(rows)
    out = io.BytesIO()
    writer.finish(out)
    return out.getvalue()
