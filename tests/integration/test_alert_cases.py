"""The alert inbox and its cases (人工复核) through the real API, ClickHouse and accounts store: list with
filters and cursor, export, a case through the workflow with comments and history, bulk triage, the
decisions in `alert_decisions`, organisation scoping and the analyst role."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from fapiao.crypto.keys import CryptoKeys
from fapiao.crypto.protect import FieldSealer
from fapiao.settings import Settings
from fapiao.warehouse import alerts
from fapiao.warehouse.engine import NativeEngine
from schemas.events import Party, RiskAlert
from tests.integration.conftest import Org

SELLER = "91110108MA01PQRS2K"


def _alerts(settings: Settings, engine: NativeEngine, org_id: str, count: int) -> list[RiskAlert]:
    """`count` alerts of the organisation, sealed by the worker's keys as the worker stores them."""
    sealer = FieldSealer.from_keys(CryptoKeys.from_settings(settings))
    now = datetime.now(UTC).replace(microsecond=0)
    made = []
    for i in range(count):
        alert = RiskAlert(
            alert_id=uuid.uuid4(),
            check_id=uuid.uuid4(),
            org_id=org_id,
            invoice_key=f"011002300111-6{i:07d}",
            raised_at=now - timedelta(minutes=i),
            score=70 + i,
            severity="critical" if i == 0 else "high",
            reasons=("seller_burst",) if i == 0 else ("duplicate_reimbursement",),
            evidence={"note": '=HYPERLINK("x")'} if i == 1 else {},
        )
        made.append(sealer.seal_alert(alert, Party(name="某某公司", tax_id=SELLER)) if i % 2 == 0 else alert)
    engine.insert(alerts.TABLE, alerts.COLUMNS, [alerts.alert_row(a) for a in made])
    return made


def test_the_inbox_lists_filters_pages_and_exports(
    api_url: str, settings: Settings, engine: NativeEngine, make_org: Callable[..., Org]
) -> None:
    org, other = make_org("复核企业 Inbox Co."), make_org("别家 Other Co.")
    made = _alerts(settings, engine, org.org_id, 5)
    _alerts(settings, engine, other.org_id, 1)
    with httpx.Client(base_url=api_url, timeout=10, headers=org.headers) as client:
        first = client.get("/v1/alerts", params={"limit": 2})
        assert first.status_code == 200, first.text
        ids = [a["alert_id"] for a in first.json()["data"]]
        second = client.get("/v1/alerts", params={"limit": 2, "cursor": first.json()["next_cursor"]}).json()
        ids += [a["alert_id"] for a in second["data"]]
        rest = client.get("/v1/alerts", params={"limit": 2, "cursor": second["next_cursor"]}).json()
        ids += [a["alert_id"] for a in rest["data"]]
        assert ids == [str(a.alert_id) for a in made] and rest["next_cursor"] is None
        top = first.json()["data"][0]
        assert top["seller_tax_id"] == SELLER and top["case"]["status"] == "new"  # opened for its owner
        crit = client.get("/v1/alerts", params={"severity": "critical"}).json()["data"]
        assert [a["alert_id"] for a in crit] == [str(made[0].alert_id)]
        by_seller = client.get("/v1/alerts", params={"seller": SELLER.lower()}).json()["data"]
        assert {a["alert_id"] for a in by_seller} == {
            str(made[0].alert_id),
            str(made[2].alert_id),
            str(made[4].alert_id),
        }
        other_cursor = client.get(
            "/v1/alerts", params={"limit": 1, "cursor": first.json()["next_cursor"], "severity": "high"}
        )
        assert other_cursor.status_code == 422 and other_cursor.json()["detail"]["field"] == "cursor"
        naive = client.get("/v1/alerts", params={"raised_from": "2026-01-01T00:00:00"})
        assert naive.status_code == 422 and naive.json()["detail"]["field"] == "raised_from"
        ancient = client.get(
            "/v1/alerts", params={"raised_to": "0999-01-01T00:00:00Z"}
        )  # before ClickHouse's 1970
        assert ancient.status_code == 422 and ancient.json()["detail"]["field"] == "raised_to"
        exported = client.get("/v1/alerts/export", params={"reason": "duplicate_reimbursement"})
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert [r["alert_id"] for r in rows] == [str(a.alert_id) for a in made[1:]]
        assert all(r["status"] == "new" and r["status_zh"] == "待处理" for r in rows)
        assert client.get("/v1/alerts", headers=other.headers).json()["count"] == 1
        assert client.get(f"/v1/alerts/{made[0].alert_id}", headers=other.headers).status_code == 404


def test_a_case_goes_through_review_and_its_decision_becomes_a_label(
    api_url: str, settings: Settings, engine: NativeEngine, make_org: Callable[..., Org]
) -> None:
    org = make_org("复核企业 Case Co.")
    made = _alerts(settings, engine, org.org_id, 4)
    alert_id = str(made[0].alert_id)
    with httpx.Client(base_url=api_url, timeout=10, headers=org.admin) as client:
        me = client.get("/v1/alerts/assignees").json()["data"][0]["user_id"]
        skip = client.patch(f"/v1/alerts/{alert_id}/case", json={"status": "confirmed_fraud"})
        assert skip.status_code == 409 and skip.json()["detail"]["msg_zh"]  # new → confirmed skips review
        due = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
        taken = client.patch(
            f"/v1/alerts/{alert_id}/case",
            json={"status": "in_review", "assignee": "me", "due_at": due.isoformat()},
        )
        assert taken.status_code == 200, taken.text
        assert taken.json()["alert"]["case"]["assignee"] == me
        stranger = client.patch(f"/v1/alerts/{alert_id}/case", json={"assignee": "u-nobody"})
        assert stranger.status_code == 400
        said = client.post(
            f"/v1/alerts/{alert_id}/case/comments", json={"text": "同一张票三家报销，已联系销售方"}
        )
        assert said.status_code == 201
        decided = client.patch(f"/v1/alerts/{alert_id}/case", json={"status": "confirmed_fraud"})
        assert decided.status_code == 200 and decided.json()["decision_version"] == 1
        kinds = [e["kind"] for e in decided.json()["history"]]
        assert kinds == ["created", "status", "assignee", "due", "comment", "status"]
        mine = client.get("/v1/alerts", params={"assignee": "me", "status": "confirmed_fraud"}).json()["data"]
        assert [a["alert_id"] for a in mine] == [alert_id]
        new_ones = client.get("/v1/alerts", params={"status": "new"}).json()["data"]
        assert alert_id not in [a["alert_id"] for a in new_ones] and len(new_ones) == 3

        bulk = client.post(
            "/v1/alerts/cases/bulk",
            json={
                "alert_ids": [str(a.alert_id) for a in made[1:]] + [str(uuid.uuid4())],
                "status": "dismissed",
            },
        )
        assert bulk.status_code == 200 and bulk.json()["changed"] == 3
        assert bulk.json()["data"][-1]["code"] == "not_found"
        reopened = client.patch(f"/v1/alerts/{made[1].alert_id}/case", json={"status": "in_review"})
        assert reopened.json()["decision_version"] == 2
        precision = client.get("/v1/alerts/precision").json()["data"]
        assert {(p["reason"], p["confirmed"], p["dismissed"]) for p in precision} == {
            ("seller_burst", 1, 0),
            ("duplicate_reimbursement", 0, 2),
        }
        audit = client.get("/v1/orgs/me/audit-events").json()["data"]
        assert {"case.changed", "case.commented"} <= {e["kind"] for e in audit}

        key_only = client.patch(
            f"/v1/alerts/{alert_id}/case", json={"status": "in_review"}, headers=org.headers
        )
        assert key_only.status_code == 403  # an API key has no analyst role

    rows = engine.execute(
        "SELECT toString(alert_id), decision, version, decided_by FROM alert_decisions FINAL "
        "WHERE org_id = %(o)s ORDER BY version, alert_id",
        {"o": org.org_id},
    )
    decisions = {r[0]: (r[1], r[2]) for r in rows}
    assert decisions[alert_id] == ("confirmed_fraud", 1) and decisions[str(made[1].alert_id)] == (
        "reopened",
        2,
    )
    assert {decisions[str(a.alert_id)] for a in made[2:]} == {("dismissed", 1)}
    assert {r[3] for r in rows} == {me}
