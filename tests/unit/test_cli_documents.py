"""`fapiao extract`: what each document says and where from, without submitting anything."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from fapiao.demo.documents import einvoice_xml, invoice_ofd, invoice_pdf, sample_invoices
from services.cli import app

runner = CliRunner()


def test_extract_json_reports_fields_sources_and_the_check(tmp_path: Path) -> None:
    invoices = sample_invoices()
    files = {
        "a.pdf": invoice_pdf(invoices["10"]),
        "b.ofd": invoice_ofd(invoices["31"]),
        "c.xml": einvoice_xml(invoices["32"]),
        "locked.pdf": invoice_pdf(invoices["10"], password="x"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    done = runner.invoke(app, ["extract", "--json", *(str(tmp_path / n) for n in files)])
    assert done.exit_code == 1  # one file could not be read
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["ok"] for r in reports] == [True, True, True, False]
    pdf, ofd, xml, locked = reports
    assert pdf["fields"]["invoice_number"]["source"] == "qr"
    assert pdf["fields"]["invoice_number"]["also_in"] == ["text_layer"]
    assert pdf["check"] == {
        "invoice_code": invoices["10"].invoice_code,
        "invoice_number": invoices["10"].invoice_number,
        "issue_date": invoices["10"].issue_date.isoformat(),
        "check_code": invoices["10"].check_code[-6:],
    }
    assert ofd["fields"]["total"]["source"] == "xml" and ofd["check"]["amount"] == str(invoices["31"].total)
    assert xml["format"] == "xml" and xml["confidence"] == 0.99
    assert locked["error"]["code"] == "pdf_encrypted" and locked["error"]["message_zh"]


def test_extract_table_for_people(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(invoice_pdf(sample_invoices()["32"]))
    done = runner.invoke(app, ["extract", str(tmp_path / "a.pdf")], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert "a.pdf" in done.stdout and "qr,text_layer" in done.stdout
