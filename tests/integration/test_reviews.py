"""人工复核 through the real API, worker, Kafka and ClickHouse: a document whose printed amount contradicts
its QR code lands in the organisation's review queue instead of being refused, an analyst corrects it
beside its rendered page and sends it, and the result arrives attributed to the reviewer; another
organisation can neither see nor act on it; a rejected batch row, corrected, ends in the same batch's
counts and results file."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from PIL import Image

from fapiao.crypto.keys import CryptoKeys
from fapiao.demo.documents import invoice_pdf, qr_text, sample_invoices
from fapiao.settings import Settings
from schemas.events import InvoiceIssued
from services.api.people import member_ref
from tests.document_layouts import digital_ofd
from tests.integration.conftest import Org, issue_all

INVOICES = sample_invoices(seed=29)


def doctored_pdf(genuine: InvoiceIssued) -> bytes:
    """The genuine invoice's QR code on a face whose amount was edited (how an edited PDF shows itself)."""
    edited = genuine.model_copy(update={"amount": genuine.amount + 1000, "total": genuine.total + 1000})
    return invoice_pdf(edited, qr=qr_text(genuine))


@pytest.fixture(scope="module")
async def registered(worker, settings: Settings) -> dict[str, InvoiceIssued]:  # type: ignore[no-untyped-def]
    await issue_all(settings, INVOICES.values())
    return INVOICES


def _user(org: Org) -> dict[str, str]:
    return {"Authorization": f"Bearer {org.token}"}


async def _done(client: httpx.AsyncClient, location: str, timeout: float = 45) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    view: dict[str, Any] = {}
    while time.monotonic() < deadline:
        view = (await client.get(location)).json()
        if view.get("status") == "done" or view.get("finished"):
            return view
        await asyncio.sleep(0.3)
    raise AssertionError(f"not done in {timeout} s: {view}")


async def test_a_disputed_document_is_reviewed_submitted_and_attributed(
    api_url: str, settings: Settings, registered: dict[str, InvoiceIssued], make_org: Callable[..., Org]
) -> None:
    genuine = registered["01"]  # 专票: the fourth field is 不含税金额, which the QR code carries
    org, other = make_org("复核企业 Review Co."), make_org("别家企业 Other Co.")
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=60, headers=_user(org)) as client,
        httpx.AsyncClient(base_url=api_url, timeout=30, headers=_user(other)) as stranger,
    ):
        me = (await client.get("/v1/auth/me")).json()
        read = await client.post(
            "/v1/documents/extract",
            files={"file": ("改过的发票.pdf", doctored_pdf(genuine), "application/pdf")},
        )
        assert read.status_code == 200, read.text
        body = read.json()
        assert body["form"] is None and body["problem"]["code"] == "fields_disagree" and body["review_id"]
        review_id = body["review_id"]
        again = await client.post(
            "/v1/documents/extract", files={"file": ("again.pdf", doctored_pdf(genuine), "application/pdf")}
        )
        assert again.json()["review_id"] == review_id  # the same file is one item

        # another organisation: not in its queue, not readable, not submittable
        assert (await stranger.get("/v1/reviews")).json()["data"] == []
        assert (await stranger.get(f"/v1/reviews/{review_id}")).status_code == 404
        assert (await stranger.get(f"/v1/reviews/{review_id}/page.png")).status_code == 404
        stolen = await stranger.post(f"/v1/reviews/{review_id}/submit", json={"invoice_number": "1"})
        assert stolen.status_code == 404
        keyed = await client.get("/v1/reviews", headers={"Authorization": "", "X-API-Key": org.api_key})
        assert keyed.status_code == 403  # reviewing needs the analyst role: a person

        queue = (await client.get("/v1/reviews", params={"kind": "document"})).json()
        assert [i["review_id"] for i in queue["data"]] == [review_id]
        item = (await client.get(f"/v1/reviews/{review_id}")).json()
        assert item["reason"] == "fields_disagree" and item["status"] == "open"
        disputed = {d["field"]: d["values"] for d in item["extracted"]["disagreements"]}
        assert disputed["amount"] == {
            "qr": f"{genuine.amount:.2f}",
            "text_layer": f"{genuine.amount + 1000:.2f}",
        }
        page = await client.get(item["page"])
        assert page.status_code == 200 and page.headers["content-type"] == "image/png"
        assert page.content.startswith(b"\x89PNG") and len(page.content) > 5_000

        assert item["proposed"]["amount"] == f"{genuine.amount:.2f}"  # the most trusted source's, the QR's
        form = {**item["proposed"], "amount": "12,3x"}
        refused = await client.post(f"/v1/reviews/{review_id}/submit", json=form)
        assert refused.status_code == 422
        problem = refused.json()["detail"][0]
        assert problem["loc"] == ["body", "amount"] and problem["msg"] and problem["msg_zh"]

        form["amount"] = f"{genuine.amount:.2f}"  # the reviewer confirms the QR code's amount on the page
        sent = await client.post(f"/v1/reviews/{review_id}/submit", json=form)
        assert sent.status_code == 200, sent.text
        done = sent.json()
        assert done["status"] == "submitted" and done["reviewed_by"] == me["subject"]
        assert [e["kind"] for e in done["history"]] == ["queued", "submitted"]
        assert done["corrected"]["amount"] == form["amount"] and done["history"][1]["detail"]["changed"] == {}
        assert (await client.post(f"/v1/reviews/{review_id}/submit", json=form)).status_code == 409

        check = await _done(client, done["check"])
        assert check["verdict"] == "consistent"
        reviewer = member_ref(me["subject"], CryptoKeys.from_settings(settings).hmac_key)
        history = await history_row(client, done["check_id"], reviewer)
        assert (history["channel"], history["requester"]) == ("review", reviewer)  # never the user id
        audit = (await client.get("/v1/orgs/me/audit-events")).json()["data"]
        assert {"review.queued", "review.submitted"} <= {e["kind"] for e in audit}
        assert (await client.get("/v1/reviews")).json()["data"] == []  # nothing left open

        # a 数电 OFD whose printed total contradicts its QR code: queued with its page drawn
        ofd = digital_ofd(registered["31"], printed_total="1.00")
        read = await client.post(
            "/v1/documents/extract", files={"file": ("改过的.ofd", ofd, "application/ofd")}
        )
        assert read.status_code == 200 and read.json()["problem"]["code"] == "fields_disagree", read.text
        page = await client.get(f"/v1/reviews/{read.json()['review_id']}/page.png")
        assert page.status_code == 200 and page.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(page.content)).size == (892, 595)  # 210 x 140 mm at 108 dpi


async def history_row(
    client: httpx.AsyncClient, check_id: str, requester: str | None = None
) -> dict[str, Any]:
    """The check's row of the history (filtered by `requester`), once the sink stored it (bounded)."""
    params = {"requester": requester} if requester else {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = (await client.get("/v1/history", params=params)).json()["data"]
        found = [r for r in rows if r["check_id"] == check_id]
        if found:
            return found[0]  # type: ignore[no-any-return]
        await asyncio.sleep(0.3)
    raise AssertionError(f"check {check_id} not in the history (requester {requester})")


async def test_a_rejected_batch_row_corrected_ends_in_its_batch(
    api_url: str, registered: dict[str, InvoiceIssued], make_org: Callable[..., Org]
) -> None:
    good, typo = registered["31"], registered["32"]  # 数电: the fourth field is 价税合计
    org = make_org("批量复核 Batch Review Co.")
    lines = [
        "发票代码,发票号码,开票日期,金额,校验码后6位",
        f",{good.invoice_number},{good.issue_date},{good.total},",
        f",{typo.invoice_number[:-1]}O,{typo.issue_date},{typo.total},",  # an O typed for a 0
    ]
    async with httpx.AsyncClient(base_url=api_url, timeout=60, headers=_user(org)) as client:
        created = await client.post(
            "/v1/batches", files={"files": ("报销.csv", "\n".join(lines).encode(), "text/csv")}
        )
        assert created.status_code == 202, created.text
        batch = created.json()
        assert (batch["accepted"], batch["rejected"]) == (1, 1)
        queue = (await client.get("/v1/reviews", params={"batch_id": batch["batch_id"]})).json()["data"]
        assert [(i["kind"], i["batch_row"], i["line"], i["reason"]) for i in queue] == [
            ("batch_row", 2, 3, "not_digits")
        ]
        form = {**queue[0]["proposed"], "invoice_number": typo.invoice_number}
        sent = await client.post(f"/v1/reviews/{queue[0]['review_id']}/submit", json=form)
        assert sent.status_code == 200, sent.text

        view = await _done(client, batch["location"])
        assert (view["accepted"], view["rejected"], view["rejections"]) == (2, 0, [])
        assert view["by_verdict"] == {"consistent": 2}
        text = (await client.get(batch["results"])).content.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        assert [r[4] for r in rows[1:]] == [good.invoice_number, typo.invoice_number]
        assert [r[9].split("/")[-1] for r in rows[1:]] == ["consistent", "consistent"]

        documents = await client.post(
            "/v1/batches", files={"files": ("edited.pdf", doctored_pdf(registered["01"]), "application/pdf")}
        )
        assert documents.json()["rejections"][0]["problems"][0]["code"] == "fields_disagree"
        batch_id = documents.json()["batch_id"]
        queued = (await client.get("/v1/reviews", params={"batch_id": batch_id})).json()["data"]
        assert [(i["kind"], i["batch_row"], i["file_name"]) for i in queued] == [
            ("document", 1, "edited.pdf")
        ]
        assert queued[0]["page"] is not None
