"""Streaming rows out of an uploaded CSV or XLSX file, never the whole sheet in memory.

CSV may be UTF-8 (with or without BOM) or GB18030 (what Excel saves on a Chinese Windows); the
encoding is told from the first 64 KiB. XLSX is read with openpyxl's read-only mode, and a cell
Excel stored as a number keeps its type, so the row parser can restore leading zeros it dropped.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

from fapiao.batches.template import map_header
from fapiao.documents.exceptions import DocumentError

Cell = str | int | float | date | datetime | None
_SNIFF = 64 * 1024


@dataclass(frozen=True)
class SheetRow:
    line: int  # 1-based line (CSV) or row (XLSX) in the file, header included
    values: dict[str, Cell]  # field -> cell, for the template's columns present


class SheetError(ValueError):
    """The file as a whole cannot be used (no header, a required column missing, not a spreadsheet)."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code, self.message_zh, self.message_en = code, message_zh, message_en


def csv_encoding(head: bytes) -> str:
    """'utf-8-sig' when the first bytes decode as UTF-8 (a cut last character allowed), else 'gb18030'."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "gb18030"


def read_csv(stream: IO[bytes]) -> Iterator[SheetRow]:
    head = stream.read(_SNIFF)
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=csv_encoding(head), errors="replace", newline="")
    try:
        reader = csv.reader(text)
        yield from _rows((reader.line_num, cells) for cells in reader)
    finally:
        text.detach()


def read_xlsx(stream: IO[bytes]) -> Iterator[SheetRow]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, DocumentError) as exc:
        raise SheetError(
            "xlsx_damaged", "XLSX文件无法读取", f"the XLSX file cannot be read ({exc})"
        ) from None
    try:
        sheet = book.worksheets[0]
        numbered = ((i, list(cells)) for i, cells in enumerate(sheet.iter_rows(values_only=True), start=1))
        yield from _rows(numbered)
    finally:
        book.close()


def _rows(numbered: Iterator[tuple[int, Sequence[Cell]]]) -> Iterator[SheetRow]:
    for _, cells in numbered:
        if all(_blank(c) for c in cells):
            continue
        mapping, missing = map_header([str(c) if c is not None else "" for c in cells])
        if missing:
            raise SheetError(
                "header_missing_columns",
                f"表头缺少必填列: {', '.join(missing)}(见模板)",
                f"the header lacks required columns: {', '.join(missing)} (see the template)",
            )
        break
    else:
        raise SheetError("empty_sheet", "文件中没有数据", "the file has no rows")
    for line, cells in numbered:
        if all(_blank(c) for c in cells):
            continue  # blank lines are not rows
        values = {field: cells[index] if index < len(cells) else None for index, field in mapping.items()}
        yield SheetRow(line, values)


def _blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())
