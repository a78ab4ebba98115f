"""The endpoints the web app's forms use, over HTTP: what a pasted value needs, reading a dropped
e-invoice, and feedback (anyone signed in sends, only the organisation's admins read)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from fapiao.demo.documents import invoice_pdf, sample_invoices
from tests.integration.conftest import Org


def test_inspect_tells_the_form_what_a_value_needs(api_url: str, org: Org) -> None:
    with httpx.Client(base_url=api_url, timeout=10) as client:
        form = client.get("/v1/inspect", params={"value": "011002300111 12345678"}, headers=org.headers)
        assert form.status_code == 200, form.text
        body = form.json()
        assert body["fourth_field"] == "check_code_last6" and body["fourth_label_zh"] == "校验码后6位"
        assert body["values"] == {"invoice_code": "011002300111", "invoice_number": "12345678"}
        digital = client.get("/v1/inspect", params={"value": "26112000000004231957"}, headers=org.headers)
        assert digital.json()["digital"] and digital.json()["fourth_label_zh"] == "价税合计"
        nothing = client.get("/v1/inspect", params={"value": "hello"}, headers=org.headers).json()
        assert not nothing["valid"] and nothing["values"] == {} and nothing["errors"]
        assert client.get("/v1/inspect", params={"value": "12345678"}).status_code == 401


def test_a_dropped_document_fills_the_check_fields(api_url: str, org: Org) -> None:
    invoice = sample_invoices(seed=31)["01"]
    with httpx.Client(base_url=api_url, timeout=20, headers=org.headers) as client:
        read = client.post("/v1/documents/extract", files={"file": ("专票.pdf", invoice_pdf(invoice))})
        assert read.status_code == 200, read.text
        form = read.json()["form"]
        assert form["fourth_field"] == "amount_ex_tax" and form["values"] == {
            "invoice_code": invoice.invoice_code,
            "invoice_number": invoice.invoice_number,
            "issue_date": invoice.issue_date.isoformat(),
            "amount": f"{invoice.amount:.2f}",
        }
        damaged = client.post("/v1/documents/extract", files={"file": ("x.pdf", b"%PDF-1.7 broken")})
        assert damaged.status_code == 422 and damaged.json()["detail"]["msg_zh"]


def test_feedback_is_read_by_the_organisations_admins_only(
    api_url: str, org: Org, make_org: Callable[..., Org]
) -> None:
    other = make_org("别家企业 Other Co.")
    with httpx.Client(base_url=api_url, timeout=10) as client:
        sent = client.post(
            "/v1/feedback", headers=org.headers, json={"category": "question", "message": " 能导出PDF吗？ "}
        )
        assert sent.status_code == 201 and sent.json()["message"] == "能导出PDF吗？"
        assert client.post("/v1/feedback", headers=org.headers, json={"message": "   "}).status_code == 422
        assert client.get("/v1/feedback", headers=org.headers).status_code == 403  # a key is no admin
        mine = client.get("/v1/feedback", headers=org.admin).json()["data"]
        assert sent.json()["id"] in [f["id"] for f in mine]
        theirs = client.get("/v1/feedback", headers=other.admin).json()["data"]
        assert sent.json()["id"] not in [f["id"] for f in theirs]
