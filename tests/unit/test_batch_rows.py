"""The batch spreadsheet: headers in Chinese or English, CSV (UTF-8 or GB18030) and XLSX, and every row
problem reported with its line and field without stopping the rows after it."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook

from fapiao.batches.items import check_id_of, check_request, item_from_document, item_from_row
from fapiao.batches.row_checks import parse_row
from fapiao.batches.sheets import SheetError, SheetRow, csv_encoding, read_csv, read_xlsx
from fapiao.batches.template import column_of, header_text, map_header
from fapiao.demo.documents import invoice_pdf, sample_invoices
from fapiao.domain.check_fields import CheckFields

TODAY = date(2026, 11, 28)
CODE10 = "011002300111"  # type 10: check code
DIGITAL = "26112000000004231957"  # 数电: amount = 价税合计


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("发票代码", "invoice_code"),
        ("invoice_code", "invoice_code"),
        ("Invoice Code", "invoice_code"),
        ("发票代码/invoice_code", "invoice_code"),
        ("发票号码 (invoice_number)", "invoice_number"),
        ("\ufeff开票日期", "issue_date"),
        ("金额", "amount"),
        ("价税合计", "amount"),
        ("校验码后6位", "check_code"),
        ("check_code", "check_code"),
        ("备注", None),
    ],
)
def test_header_cells(header: str, field: str | None) -> None:
    assert column_of(header) == field


def test_template_header_maps_to_every_column() -> None:
    mapping, missing = map_header(header_text())
    assert missing == [] and list(mapping.values()) == [
        "invoice_code",
        "invoice_number",
        "issue_date",
        "amount",
        "check_code",
    ]


def _row(line: int = 2, **values: object) -> SheetRow:
    return SheetRow(line, values)  # type: ignore[arg-type]


GOOD = [
    (
        "check-code type",
        _row(invoice_code=CODE10, invoice_number="12345678", issue_date="2026-11-20", check_code="567890"),
        CheckFields(CODE10, "12345678", date(2026, 11, 20), None, "567890"),
    ),
    (
        "数电 with ¥ and thousands separators",
        _row(invoice_number=DIGITAL, issue_date="2026年11月20日", amount="¥1,130.00"),
        CheckFields("", DIGITAL, date(2026, 11, 20), Decimal("1130.00"), None),
    ),
    (
        "compact date, spaces in the number",
        _row(invoice_code=CODE10, invoice_number=" 1234 5678 ", issue_date="20261120", check_code="567890"),
        CheckFields(CODE10, "12345678", date(2026, 11, 20), None, "567890"),
    ),
    (
        "both fourth fields: keeps the type's",
        _row(
            invoice_code=CODE10,
            invoice_number="12345678",
            issue_date="2026/11/20",
            amount="100",
            check_code="567890",
        ),
        CheckFields(CODE10, "12345678", date(2026, 11, 20), None, "567890"),
    ),
    (
        "XLSX numbers lost leading zeros",
        _row(
            invoice_code=11002300111,
            invoice_number=1234567,
            issue_date=datetime(2026, 11, 20),
            check_code=67890,
        ),
        CheckFields(CODE10, "01234567", date(2026, 11, 20), None, "067890"),
    ),
    (
        "XLSX amount as a float",
        _row(invoice_number=DIGITAL, issue_date=date(2026, 11, 20), amount=1190.84),
        CheckFields("", DIGITAL, date(2026, 11, 20), Decimal("1190.84"), None),
    ),
]


@pytest.mark.parametrize(("name", "row", "fields"), GOOD, ids=[g[0] for g in GOOD])
def test_good_rows(name: str, row: SheetRow, fields: CheckFields) -> None:
    outcome = parse_row(row, TODAY)
    assert outcome.problems == () and outcome.fields == fields


BAD = [
    (
        "missing number",
        _row(invoice_code=CODE10, issue_date="2026-11-20", check_code="567890"),
        [("invoice_number", "required")],
    ),
    (
        "letters in the number",
        _row(invoice_code=CODE10, invoice_number="1234ABCD", issue_date="2026-11-20"),
        [("invoice_number", "not_digits")],
    ),
    (
        "missing date",
        _row(invoice_code=CODE10, invoice_number="12345678", check_code="567890"),
        [("issue_date", "required")],
    ),
    (
        "impossible date",
        _row(invoice_code=CODE10, invoice_number="12345678", issue_date="2026-13-40", check_code="1"),
        [("issue_date", "date_format")],
    ),
    (
        "amount not a number",
        _row(invoice_number=DIGITAL, issue_date="2026-11-20", amount="一百元"),
        [("amount", "amount_format")],
    ),
    (
        "amount with 3 decimals",
        _row(invoice_number=DIGITAL, issue_date="2026-11-20", amount="1.005"),
        [("amount", "amount_format")],
    ),
    (
        "check code where the type needs it",
        _row(invoice_code=CODE10, invoice_number="12345678", issue_date="2026-11-20", amount="100.00"),
        [("check_code", "wrong_fourth_field")],
    ),
    (
        "数电 without amount",
        _row(invoice_number=DIGITAL, issue_date="2026-11-20"),
        [("amount", "missing_fourth_field")],
    ),
    (
        "future date",
        _row(invoice_number=DIGITAL, issue_date="2026-12-20", amount="1"),
        [("issue_date", "issue_date_future")],
    ),
    (
        "8-digit number without code",
        _row(invoice_number="12345678", issue_date="2026-11-20", amount="1"),
        [("invoice_code", "code_required")],
    ),
    (
        "bad code length",
        _row(invoice_code="12345", invoice_number="12345678", issue_date="2026-11-20", amount="1"),
        [("invoice_code", "code_format")],
    ),
    (
        "20-digit number stored as a number",
        _row(invoice_number=2.6112e19, issue_date="2026-11-20", amount="1"),
        [("invoice_number", "digits_lost")],
    ),
]


@pytest.mark.parametrize(("name", "row", "problems"), BAD, ids=[b[0] for b in BAD])
def test_bad_rows_name_line_field_and_reason(
    name: str, row: SheetRow, problems: list[tuple[str, str]]
) -> None:
    outcome = parse_row(row, TODAY)
    assert outcome.fields is None
    assert [(p.field, p.code) for p in outcome.problems] == problems
    assert all(p.line == row.line and p.message_zh and p.message_en for p in outcome.problems)


CSV = (
    "发票代码/invoice_code,发票号码/invoice_number,开票日期/issue_date,金额/amount,校验码后6位/check_code,备注\n"
    f"{CODE10},12345678,2026-11-20,,567890,差旅\n"
    ",,,,,\n"
    f"{CODE10},1234567X,2026-11-20,,567890,\n"
    f",{DIGITAL},2026-11-20,1130.00,,\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_rows_keep_their_lines_and_skip_blank_ones(encoding: str) -> None:
    rows = list(read_csv(io.BytesIO(CSV.encode(encoding))))
    assert [r.line for r in rows] == [2, 4, 5]
    assert rows[0].values["invoice_code"] == CODE10 and rows[2].values["amount"] == "1130.00"
    outcomes = [parse_row(r, TODAY) for r in rows]
    assert [o.fields is not None for o in outcomes] == [True, False, True]
    assert [(p.line, p.field) for p in outcomes[1].problems] == [(4, "invoice_number")]


def test_csv_encoding_is_told_from_the_head() -> None:
    text = "发票号码\n" * 10
    assert csv_encoding(text.encode("utf-8")[:-1]) == "utf-8-sig"  # a cut last character is fine
    assert csv_encoding(text.encode("gb18030")) == "gb18030"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("备注,金额\n差旅,1\n", "header_missing_columns"),
        ("", "empty_sheet"),
        ("\n\n", "empty_sheet"),
    ],
)
def test_unusable_sheets(content: str, code: str) -> None:
    with pytest.raises(SheetError) as refused:
        list(read_csv(io.BytesIO(content.encode())))
    assert refused.value.code == code and refused.value.message_zh


def test_xlsx_rows_keep_cell_types() -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["invoice_code", "invoice_number", "issue_date", "amount", "check_code"])
    sheet.append([11002300111, 1234567, datetime(2026, 11, 20), None, 67890])
    sheet.append([None, DIGITAL, "2026-11-20", 1130.5, None])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    rows = list(read_xlsx(out))
    assert [r.line for r in rows] == [2, 3]
    assert [parse_row(r, TODAY).fields for r in rows] == [
        CheckFields(CODE10, "01234567", date(2026, 11, 20), None, "067890"),
        CheckFields("", DIGITAL, date(2026, 11, 20), Decimal("1130.50"), None),
    ]


def test_damaged_xlsx_is_refused() -> None:
    with pytest.raises(SheetError) as refused:
        list(read_xlsx(io.BytesIO(b"PK\x03\x04 not really")))
    assert refused.value.code == "xlsx_damaged"


def test_items_become_batch_check_requests() -> None:
    batch_id = uuid.uuid4()
    row = _row(
        3, invoice_code=CODE10, invoice_number="12345678", issue_date="2026-11-20", check_code="567890"
    )
    item = item_from_row(2, row, parse_row(row, TODAY))
    key, event = check_request(
        item,
        batch_id=batch_id,
        org_id="acme",
        requester="alice",
        requested_at=datetime(2026, 11, 28, 2, 0).astimezone(),
    )
    assert key == f"{CODE10}-12345678"
    assert (event.batch_id, event.batch_row, event.channel, event.org_id) == (batch_id, 2, "batch", "acme")
    assert event.check_id == check_id_of(batch_id, 2) and item.shown["issue_date"] == "2026-11-20"


def test_document_items() -> None:
    invoice = sample_invoices()["32"]
    good = item_from_document(1, "a.pdf", invoice_pdf(invoice), TODAY)
    assert good.accepted and good.fields is not None and good.fields.amount == invoice.total
    bad = item_from_document(2, "b.pdf", invoice_pdf(invoice, password="x"), TODAY)
    assert not bad.accepted and [(p.field, p.code) for p in bad.problems] == [("file", "pdf_encrypted")]


class _CountingFile(io.BytesIO):
    """Counts the bytes the reader actually pulled."""

    pulled = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.pulled += len(data)
        return data

    def read1(self, size: int = -1) -> bytes:
        data = super().read1(size)
        self.pulled += len(data)
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def,override]
        count = super().readinto(buffer)
        self.pulled += count
        return count


def test_a_100000_row_csv_is_read_lazily() -> None:
    row = f"{CODE10},12345678,2026-11-20,,567890\n".encode()
    upload = _CountingFile(b"invoice_code,invoice_number,issue_date,amount,check_code\n" + row * 100_000)
    rows = read_csv(upload)
    first = [next(rows) for _ in range(10)]
    assert [r.line for r in first] == list(range(2, 12))
    assert upload.pulled < 256 * 1024 < len(upload.getvalue())  # 4 MB file, a few buffers read
