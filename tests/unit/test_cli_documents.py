"""`fapiao extract`: what each document says and where from, without submitting anything."""

from __future__ import annotations

import json
import subprocess
import sys
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


# what `fapiao --help` and `fapiao inspect` imported before (2.2 s, 225 MB): each only when its command runs
HEAVY = (
    "sklearn",
    "numpy",
    "pandas",
    "scipy",
    "pdfplumber",
    "pypdfium2",
    "zxingcpp",
    "structlog",
    "httpx",
    "faust",
    "aiokafka",
    "fastapi",
    "sqlalchemy",
    "clickhouse_driver",
    "fapiao.documents",
    "pydantic_settings",
)


def _imported_by(*argv: str) -> set[str]:
    """Top-level packages a fresh interpreter has imported after running `fapiao ARGV`."""
    code = (
        "import sys\nfrom services.cli import app\n"
        f"try:\n    app({list(argv)!r})\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    return set(done.stdout.splitlines()[-1].split())


def test_help_imports_nothing_heavy() -> None:
    loaded = _imported_by("--help")
    assert not {m for m in loaded if m.startswith(HEAVY)}
    assert "asyncio" not in loaded  # ~30 ms of the start-up on its own


def test_inspect_imports_only_settings_and_the_domain() -> None:
    loaded = _imported_by("inspect", "011002300111")
    assert not {m for m in loaded if m.startswith(HEAVY) and not m.startswith("pydantic_settings")}
