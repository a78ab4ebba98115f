"""Issue 16 item 4: user ids are never shown to API keys (an id is half of a forged session).

An organisation's admin leaves its id wherever the API records people: it is assigned a case, moves it
and comments on it, changes the risk rules, saves a report, uploads a batch and submits a check as the
web app does. Then every GET operation of the OpenAPI document (and the read-only POST, a report run)
is called with a read-only key and with a key that also reads alerts, path parameters filled with the
organisation's real ids: no answer — JSON, CSV, or the XML inside an XLSX — contains the admin's id.
The same walk with the admin's own session finds it (so the walk reaches the answers that name people),
and the keys see the member's reference where the admin sees its id.
"""

from __future__ import annotations

import io
import time
import uuid
import zipfile
from collections.abc import Callable

import httpx

from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from tests.integration.conftest import Org
from tests.integration.test_alert_cases import _alerts
from tests.integration.test_security_api import REPORT, _key

SKIPPED = {"/v1/alerts/stream"}  # endless (server-sent events); it carries alerts, never cases
READ_POSTS = ("/v1/reports/{report_id}/run",)
BATCH = "发票代码,发票号码,开票日期,金额,校验码后6位,备注\n,26112000009999990001,2026-11-01,100.00,,\n"


def _texts(answer: httpx.Response) -> str:
    """Everything readable in an answer: the body, or the parts of an XLSX (a ZIP of XML)."""
    if answer.content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(answer.content)) as book:
            return "".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())
    return answer.content.decode("utf-8", "replace")


class _Ids(dict[str, str]):
    """Path parameters: the organisation's real ids, and for a parameter of a route added later an id
    that names nothing (its route answers 403 or 404, and the walk goes on)."""

    def __missing__(self, name: str) -> str:
        return str(uuid.uuid4())


def _walk(client: httpx.Client, spec: dict, ids: dict[str, str]) -> dict[str, str]:
    """Every GET (and read-only POST) with `ids` as path parameters: {operation: what it answered} for
    the answers under 300."""
    seen: dict[str, str] = {}
    for path, item in spec["paths"].items():
        for method in item:
            if path in SKIPPED or not (method == "get" or (method == "post" and path in READ_POSTS)):
                continue
            url = path.format_map(_Ids(ids))
            answer = client.request(method.upper(), url)
            assert answer.status_code < 500, (method, url, answer.status_code, answer.text[:300])
            if answer.status_code < 300:
                seen[f"{method.upper()} {path}"] = _texts(answer)
    return seen


def _until_in_history(client: httpx.Client, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(client.get("/v1/history").json()["data"]) < count:
        assert time.monotonic() < deadline, "the checks did not reach the history within 60 s"
        time.sleep(0.5)


def test_no_answer_to_an_api_key_carries_a_user_id(
    api_url: str, settings: Settings, engine: NativeEngine, make_org: Callable[..., Org]
) -> None:
    org = make_org("用户编号企业 User Ids Co.")
    alert = str(_alerts(settings, engine, org.org_id, 1)[0].alert_id)
    reader, watcher = _key(api_url, org, "read"), _key(api_url, org, "read", "alerts")
    with httpx.Client(base_url=api_url, timeout=30, headers=org.admin) as admin:
        me = admin.get("/v1/auth/me").json()
        user_id = me["subject"]
        assert me["kind"] == "user" and user_id not in me["requester"]
        # the admin's traces: a case, the rules, a report, a batch, a check as the web app sends it
        taken = admin.patch(f"/v1/alerts/{alert}/case", json={"status": "in_review", "assignee": "me"})
        assert taken.status_code == 200 and taken.json()["alert"]["case"]["assignee"] == user_id
        assert admin.post(f"/v1/alerts/{alert}/case/comments", json={"text": "已核实"}).status_code == 201
        rules = admin.put("/v1/risk/rules", json={"base_version": 0, "alert_threshold": 45})
        assert rules.status_code == 200 and rules.json()["updated_by"] == user_id
        report = admin.post("/v1/reports", json=REPORT)
        assert report.status_code == 201
        batch = admin.post("/v1/batches", files={"files": ("清单.csv", BATCH.encode(), "text/csv")})
        assert batch.status_code == 202, batch.text
        check = admin.post(
            "/v1/checks",
            json={
                "invoice_number": "26112000009999990002",
                "issue_date": "2026-11-01",
                "amount": "100.00",
                "requester": me["requester"],
            },
        )
        assert check.status_code in (200, 202), check.text
        _until_in_history(admin, 2)
        ids = {
            "check_id": check.json()["check_id"],
            "batch_id": batch.json()["batch_id"],
            "alert_id": alert,
            "report_id": report.json()["id"],
            "version": "1",
            "user_id": user_id,
            "key_id": "none",
            "sub_id": "none",
            "article_id": "none",
            "review_id": "none",  # the review queue is users' only (analysts): keys get 403
            "name": "checks",
            "fmt": "svg",
        }
        spec = admin.get("/openapi.json").json()
        # the admin sees its id where the API names people: the walk below reaches these answers
        for path in (
            "/v1/alerts",
            f"/v1/alerts/{alert}",
            "/v1/risk/rules",
            "/v1/risk/rules/history",
            "/v1/reports",
        ):
            assert user_id in admin.get(path).text, path

    walked = {}
    for name, key in (("read", reader), ("read+alerts", watcher)):
        with httpx.Client(base_url=api_url, timeout=30, headers=key) as client:
            walked[name] = answers = _walk(client, spec, ids)
            leaks = sorted(op for op, text in answers.items() if user_id in text)
            assert not leaks, f"user id shown to the {name} key by {leaks}"
    # both reached what names the admin's checks (requesters), the alerts key what names people
    reads = {"GET /v1/history", "GET /v1/history/export", "GET /v1/batches/{batch_id}/results"}
    people = {"GET /v1/alerts", "GET /v1/alerts/{alert_id}", "GET /v1/risk/rules", "GET /v1/reports"}
    assert reads <= set(walked["read"]) and reads | people <= set(walked["read+alerts"])
    # the alerts key reached the answers that name the admin, and sees its reference there
    with httpx.Client(base_url=api_url, timeout=30, headers=watcher) as client:
        case = client.get(f"/v1/alerts/{alert}").json()
        ref = case["alert"]["case"]["assignee"]
        assert ref.startswith("member-") and ref == me["requester"]
        assert {e["actor"] for e in case["history"]} == {ref}
        assert client.get("/v1/risk/rules").json()["rules"]["updated_by"] == ref
        assert client.get("/v1/reports").json()["data"][0]["created_by"] is None
