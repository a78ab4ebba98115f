"""Batches end to end: upload -> checks.requested -> worker -> ClickHouse -> progress and results files."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from fapiao.batches.row_checks import parse_row
from fapiao.batches.sheets import read_csv, read_xlsx
from fapiao.demo.documents import einvoice_xml, invoice_ofd, invoice_pdf, sample_invoices, zip_bytes
from fapiao.domain.check_fields import fourth_field_value
from fapiao.domain.invoice_types import invoice_type
from fapiao.settings import Settings
from schemas.events import InvoiceIssued
from services import batch_client
from services.cli import app
from tests.integration.conftest import _env, issue_all
from tests.integration.processes import cli_process, free_port, wait_until_ok

INVOICES = sample_invoices(seed=11)
HEADER = "发票代码,发票号码,开票日期,金额,校验码后6位,备注\n"


def _row(invoice: InvoiceIssued, *, tamper: bool = False) -> str:
    amount, check_code = fourth_field_value(
        invoice_type(invoice.fplx).fourth_field,
        amount=invoice.amount,
        total=invoice.total,
        check_code=invoice.check_code,
    )
    if tamper and amount is not None:
        amount += Decimal("1.00")
    if tamper and check_code is not None:
        check_code = "000000" if check_code != "000000" else "111111"
    cells = (invoice.invoice_code, invoice.invoice_number, invoice.issue_date, amount or "", check_code or "")
    return ",".join(map(str, cells)) + ",\n"


@pytest.fixture(scope="module")
async def registered(worker, settings: Settings) -> dict[str, InvoiceIssued]:  # type: ignore[no-untyped-def]
    """The sample invoices of every type, in the register (before the checks arrive)."""
    await issue_all(settings, INVOICES.values())
    return INVOICES


async def _finished(client: httpx.AsyncClient, location: str, timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = (await client.get(location)).json()
        if view["finished"]:
            return view  # type: ignore[no-any-return]
        await asyncio.sleep(0.3)
    raise AssertionError(f"batch not finished: {view}")


async def test_csv_batch_results_in_input_order(
    api_url: str, api_headers: dict[str, str], registered: dict[str, InvoiceIssued]
) -> None:
    genuine = list(registered.values())
    lines = [_row(i) for i in genuine]
    lines.insert(3, "011002300111,1234567X,2026-11-20,,123456,坏行\n")  # bad number: line 5
    lines.append(_row(genuine[0], tamper=True))
    lines.append(",26112000009999999999,2026-11-01,100.00,,\n")  # never issued
    lines.append(",26112000009999999998,2026-13-01,100.00,,\n")  # bad date
    body = (HEADER + "".join(lines)).encode("gb18030")  # as Excel saves it on a Chinese Windows
    async with httpx.AsyncClient(base_url=api_url, timeout=60, headers=api_headers) as client:
        created = await client.post("/v1/batches", files={"files": ("发票清单.csv", body, "text/csv")})
        assert created.status_code == 202, created.text
        batch = created.json()
        assert (batch["kind"], batch["total"], batch["rejected"]) == ("rows", len(lines), 2)
        assert batch["accepted"] == len(lines) - 2 and batch["file_name"] == "发票清单.csv"
        bad = batch["rejections"][0]
        assert (bad["row"], bad["line"], bad["problems"][0]["field"]) == (4, 5, "invoice_number")
        assert bad["problems"][0]["message_zh"] and bad["problems"][0]["message_en"]

        view = await _finished(client, batch["location"])
        assert view["done"] == batch["accepted"] and view["pending"] == 0
        assert view["by_verdict"] == {"consistent": len(genuine), "inconsistent": 1, "not_found": 1}
        assert [r["row"] for r in view["rejections"]] == [4, len(lines)]

        text = (await client.get(batch["results"])).content.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0][0] == "序号/row" and len(rows) == len(lines) + 1
        assert [int(r[0]) for r in rows[1:]] == list(range(1, len(lines) + 1))
        numbers = [r[4] for r in rows[1:]]
        assert numbers == [line.split(",")[1] for line in lines]
        verdicts = [r[9].split("/")[-1] for r in rows[1:]]
        assert verdicts[3] == "" and rows[4][8] == "未受理/rejected" and "invoice_number" in rows[4][-1]
        assert verdicts[-3:] == ["inconsistent", "not_found", ""]
        assert all(v == "consistent" for v in verdicts[:3] + verdicts[4 : len(genuine) + 1])
        assert (rows[1][4], rows[1][15]) == (genuine[0].invoice_number, genuine[0].seller.name)

        xlsx = await client.get(batch["results"], params={"format": "xlsx"})
        assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxml")
        book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
        sheet_rows = list(book.worksheets[0].iter_rows(values_only=True))
        assert len(sheet_rows) == len(lines) + 1
        assert [r[4] for r in sheet_rows[1:]] == numbers
        assert [str(r[9] or "").split("/")[-1] for r in sheet_rows[1:]] == verdicts


async def test_document_batch_of_files_and_a_zip(
    api_url: str, api_headers: dict[str, str], registered: dict[str, InvoiceIssued]
) -> None:
    ten, digital, toll = registered["10"], registered["31"], registered["14"]
    bundle = zip_bytes(
        {
            "2026-11/a.ofd": invoice_ofd(toll),
            "2026-11/b.xml": einvoice_xml(digital),
            "__MACOSX/._a.ofd": b"junk",
            "2026-11/readme.txt": b"not an invoice",
        }
    )
    files = [
        ("files", ("ten.pdf", invoice_pdf(ten), "application/pdf")),
        ("files", ("locked.pdf", invoice_pdf(ten, password="x"), "application/pdf")),
        ("files", ("bundle.zip", bundle, "application/zip")),
    ]
    async with httpx.AsyncClient(base_url=api_url, timeout=60, headers=api_headers) as client:
        created = await client.post("/v1/batches", files=files)
        assert created.status_code == 202, created.text
        batch = created.json()
        assert (batch["kind"], batch["total"], batch["accepted"], batch["rejected"]) == ("documents", 5, 3, 2)
        assert [(r["file"], r["problems"][0]["code"]) for r in batch["rejections"]] == [
            ("locked.pdf", "pdf_encrypted"),
            ("bundle.zip/2026-11/readme.txt", "unsupported_format"),
        ]
        view = await _finished(client, batch["location"])
        assert view["by_verdict"] == {"consistent": 3}
        rows = list(csv.reader(io.StringIO((await client.get(batch["results"])).content.decode("utf-8-sig"))))
        assert [r[2] for r in rows[1:]] == [
            "ten.pdf",
            "locked.pdf",
            "bundle.zip/2026-11/a.ofd",
            "bundle.zip/2026-11/b.xml",
            "bundle.zip/2026-11/readme.txt",
        ]
        assert [r[4] for r in rows[1:4:2]] == [ten.invoice_number, toll.invoice_number]


@pytest.mark.parametrize(
    ("members", "code"),
    [
        ({"ok.pdf": b"%PDF-1.4", "../../etc/cron.d/evil.pdf": b"x"}, "zip_unsafe_path"),
        ({"/abs/evil.xml": b"<EInvoice/>"}, "zip_unsafe_path"),
    ],
)
async def test_zip_with_path_traversal_is_refused(
    api_url: str, api_headers: dict[str, str], members: dict[str, bytes], code: str
) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=30, headers=api_headers) as client:
        refused = await client.post(
            "/v1/batches", files={"files": ("x.zip", zip_bytes(members), "application/zip")}
        )
    assert refused.status_code == 422 and refused.json()["detail"]["code"] == code
    assert refused.json()["detail"]["msg_zh"]


async def test_zip_bomb_is_refused(api_url: str, api_headers: dict[str, str]) -> None:
    out = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.pdf", b"\0" * (40 * 1024 * 1024))
    async with httpx.AsyncClient(base_url=api_url, timeout=30, headers=api_headers) as client:
        refused = await client.post(
            "/v1/batches", files={"files": ("x.zip", out.getvalue(), "application/zip")}
        )
    assert refused.status_code == 422 and refused.json()["detail"]["code"] == "zip_too_large"


async def test_unusable_uploads_are_refused_whole(api_url: str, api_headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=30, headers=api_headers) as client:
        no_header = await client.post("/v1/batches", files={"files": ("a.csv", b"a,b\n1,2\n", "text/csv")})
        mixed = await client.post(
            "/v1/batches",
            files=[("files", ("a.csv", b"x", "text/csv")), ("files", ("b.pdf", b"%PDF", "application/pdf"))],
        )
        missing = await client.get("/v1/batches/00000000-0000-4000-8000-000000000000")
    assert no_header.status_code == 422 and no_header.json()["detail"]["code"] == "header_missing_columns"
    assert mixed.status_code == 422 and mixed.json()["detail"]["code"] == "sheet_not_alone"
    assert missing.status_code == 404 and missing.json()["detail"]["msg_zh"] == "查无此批次"


@pytest.fixture(scope="module")
def small_api(settings: Settings, worker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An API whose upload limit is 100 kB."""
    port = free_port()
    log = Path(tmp_path_factory.mktemp("logs")) / "small-api.log"
    env = {**_env(settings), "FAPIAO_BATCH_MAX_UPLOAD_BYTES": "100000"}
    url = f"http://127.0.0.1:{port}"
    with cli_process(["api", "--port", str(port)], env, log, stop_seconds=20) as proc:
        wait_until_ok(proc, log, f"{url}/healthz")
        yield url


def test_oversized_upload_gets_413(small_api: str, api_headers: dict[str, str]) -> None:
    big = HEADER.encode() + b",26112000000000000001,2026-11-01,1.00,,\n" * 5000
    declared = httpx.post(
        f"{small_api}/v1/batches",
        files={"files": ("big.csv", big, "text/csv")},
        timeout=30,
        headers=api_headers,
    )
    assert declared.status_code == 413 and "上传文件超过大小上限" in declared.json()["detail"]["msg_zh"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit must hold while streaming
        yield b'--b\r\nContent-Disposition: form-data; name="files"; filename="big.csv"\r\n\r\n'
        for _ in range(50):
            yield big[:10_000]
        yield b"\r\n--b--\r\n"

    streamed = httpx.post(
        f"{small_api}/v1/batches",
        content=chunked(),
        headers={"content-type": "multipart/form-data; boundary=b", **api_headers},
        timeout=30,
    )
    assert streamed.status_code == 413
    small = httpx.post(
        f"{small_api}/v1/batches",
        files={"files": ("ok.csv", big[:5000], "text/csv")},
        timeout=30,
        headers=api_headers,
    )
    assert small.status_code == 202


async def test_xlsx_batch(
    api_url: str, api_headers: dict[str, str], registered: dict[str, InvoiceIssued]
) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(
        [
            "发票代码/invoice_code",
            "发票号码/invoice_number",
            "开票日期/issue_date",
            "金额/amount",
            "校验码后6位",
        ]
    )
    for fplx in ("01", "32"):
        invoice = registered[fplx]
        amount, _ = fourth_field_value(
            invoice_type(fplx).fourth_field, amount=invoice.amount, total=invoice.total, check_code=None
        )
        sheet.append(
            [
                invoice.invoice_code or None,
                invoice.invoice_number,
                invoice.issue_date,
                float(amount or 0),
                None,
            ]
        )
    out = io.BytesIO()
    book.save(out)
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    async with httpx.AsyncClient(base_url=api_url, headers=api_headers, timeout=60) as client:
        created = await client.post("/v1/batches", files={"files": ("发票.xlsx", out.getvalue(), media)})
        assert created.status_code == 202, created.text
        batch = created.json()
        assert (batch["total"], batch["accepted"]) == (2, 2)
        view = await _finished(client, batch["location"])
    assert view["by_verdict"] == {"consistent": 2}


async def test_a_batch_is_seen_only_by_its_organisation(
    api_url: str, api_headers: dict[str, str], make_org
) -> None:  # type: ignore[no-untyped-def]
    other = make_org("另一家企业 Other Co.")
    body = (HEADER + ",26112000009999999997,2026-11-01,100.00,,\n").encode()
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        batch = (
            await client.post("/v1/batches", files={"files": ("a.csv", body)}, headers=api_headers)
        ).json()
        assert (await client.get(batch["location"], headers=api_headers)).status_code == 200
        assert (await client.get(batch["location"], headers=other.headers)).status_code == 404
        assert (await client.get(batch["results"], headers=other.headers)).status_code == 404
        assert (await client.get(batch["location"])).status_code == 401


async def test_the_template_downloads_and_parses_as_a_batch(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        as_csv = await client.get("/v1/batches/template")
        as_xlsx = await client.get("/v1/batches/template", params={"format": "xlsx"})
    assert as_csv.status_code == as_xlsx.status_code == 200
    today = date.today()
    csv_rows = [parse_row(r, today) for r in read_csv(io.BytesIO(as_csv.content))]
    xlsx_rows = [parse_row(r, today) for r in read_xlsx(io.BytesIO(as_xlsx.content))]
    assert [r.fields for r in csv_rows] == [r.fields for r in xlsx_rows]
    assert all(r.fields is not None for r in csv_rows) and len(csv_rows) == 2


# -- the command line: fapiao batch / fapiao check -------------------------------------------------

runner = CliRunner()


def test_batch_command_writes_the_results_file(
    api_url: str,
    api_headers: dict[str, str],
    registered: dict[str, InvoiceIssued],
    tmp_path: Path,
) -> None:
    sheet = tmp_path / "发票.csv"
    sheet.write_text(HEADER + _row(registered["04"]) + _row(registered["31"]), encoding="utf-8")
    out = tmp_path / "results.csv"
    env = {"FAPIAO_API_URL": api_url, "FAPIAO_API_KEY": api_headers["X-API-Key"], "COLUMNS": "150"}
    done = runner.invoke(app, ["batch", str(sheet), "-o", str(out), "--timeout", "60"], env=env)
    assert done.exit_code == 0, done.output
    assert "consistent" in done.stdout and "results written to" in done.stdout
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r[4] for r in rows[1:]] == [registered["04"].invoice_number, registered["31"].invoice_number]


def test_check_command_bundles_many_documents_and_reports_rejections(
    api_url: str,
    api_headers: dict[str, str],
    registered: dict[str, InvoiceIssued],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch_client, "MAX_FILES", 2)  # three files: sent as one ZIP
    files = {
        "a.pdf": invoice_pdf(registered["10"]),
        "b.ofd": invoice_ofd(registered["14"]),
        "c.xml": einvoice_xml(registered["32"]),
        "d.pdf": invoice_pdf(registered["10"], password="x"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    out = tmp_path / "results.xlsx"
    done = runner.invoke(
        app,
        [
            "check",
            *(str(tmp_path / n) for n in files),
            "--api-url",
            api_url,
            "--api-key",
            api_headers["X-API-Key"],
            "-o",
            str(out),
            "--format",
            "xlsx",
            "--timeout",
            "60",
        ],
        env={"COLUMNS": "150"},
    )
    assert done.exit_code == 1, done.output  # one document was refused
    assert "documents.zip/d.pdf" in done.stdout and "PDF已加密" in done.stdout
    assert out.read_bytes()[:2] == b"PK"


def test_bad_key_is_a_clear_error(api_url: str, tmp_path: Path) -> None:
    sheet = tmp_path / "a.csv"
    sheet.write_text(HEADER, encoding="utf-8")
    done = runner.invoke(app, ["batch", str(sheet), "--api-url", api_url, "--api-key", "nope"])
    assert done.exit_code == 2 and "HTTP 401" in done.stdout
