"""Attacks on the live API that once worked (issue 16, items 4 and 8), each tried again here.

Every test acts as an outsider or a weaker credential of a real organisation against the session API
(real Kafka, ClickHouse, accounts store) and checks the answer refuses it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

from tests.integration.conftest import Org

pytestmark = pytest.mark.integration
REPORT = {
    "name": "按结果",
    "dimensions": ["verdict"],
    "metrics": ["checks"],
    "date_from": "2026-01-01",
    "date_to": "2026-01-31",
    "format": "json",
}


def _key(api_url: str, org: Org, *scopes: str) -> dict[str, str]:
    made = httpx.post(
        f"{api_url}/v1/api-keys", headers=org.admin, json={"name": "k", "scopes": list(scopes)}, timeout=10
    )
    assert made.status_code == 201, made.text
    return {"X-API-Key": made.json()["key"]}


def test_read_only_keys_cannot_change_reports_nor_refresh_and_see_no_user_ids(
    api_url: str, make_org: Callable[..., Org]
) -> None:
    org = make_org("只读密钥企业")
    reader = _key(api_url, org, "read")
    watcher = _key(api_url, org, "read", "alerts")
    with httpx.Client(base_url=api_url, timeout=10) as client:
        saved = client.post("/v1/reports", headers=org.admin, json=REPORT)  # the admin saves one
        assert saved.status_code == 201 and saved.json()["created_by"]  # users see who saved it
        rid = saved.json()["id"]
        for who in (reader, watcher):
            for method, path, body in (
                ("POST", "/v1/reports", REPORT),
                ("PUT", f"/v1/reports/{rid}", REPORT | {"name": "overwritten"}),
                ("DELETE", f"/v1/reports/{rid}", None),
                ("POST", f"/v1/checks/{uuid.uuid4()}/refresh", None),
            ):
                answer = client.request(method, path, headers=who, json=body)
                assert answer.status_code == 403, (method, path, answer.text)
                assert answer.json()["detail"]["code"] == "read_only"
            listed = client.get("/v1/reports", headers=who).json()["data"]
            assert [r["created_by"] for r in listed] == [None]  # the admin's user id is not shown
            assert client.get(f"/v1/reports/{rid}", headers=who).json()["created_by"] is None
            assert client.post(f"/v1/reports/{rid}/run", headers=who).status_code == 200  # reading is fine
        kept = client.get(f"/v1/reports/{rid}", headers=org.admin).json()
        assert kept["name"] == REPORT["name"]
        writer = _key(api_url, org, "submit", "read")
        assert client.put(f"/v1/reports/{rid}", headers=writer, json=REPORT).status_code == 200
        assert client.delete(f"/v1/reports/{rid}", headers=writer).status_code == 204


def test_forged_cursors_odd_report_names_and_old_dates_are_4xx(
    api_url: str, make_org: Callable[..., Org]
) -> None:
    org = make_org("畸形输入企业")
    forged = ["x", "eyJ9", "A" * 300, "%00", "eyJhIjogMX0", "..", "-1"]
    with httpx.Client(base_url=api_url, timeout=30, headers=org.headers) as client:
        for path in ("/v1/history", "/v1/alerts"):
            for cursor in forged:
                answer = client.get(path, params={"cursor": cursor})
                assert 400 <= answer.status_code < 500, (path, cursor, answer.status_code, answer.text[:200])
        for name in ("", " ", "a" * 10_000, "\x00", "../../etc/passwd", "=1+1", "名" * 500):
            answer = client.post("/v1/reports", json=REPORT | {"name": name})
            assert answer.status_code < 500, (repr(name[:20]), answer.status_code, answer.text[:200])
        for chart in ("checks.png", "checks.svg"):
            for date_from in ("2000-01-01", "1970-01-01", "1900-01-01", "2099-12-31"):
                answer = client.get(f"/v1/analytics/charts/{chart}", params={"date_from": date_from})
                assert answer.status_code < 500, (chart, date_from, answer.status_code, answer.text[:200])


def test_security_headers_on_api_answers(api_url: str, org: Org) -> None:
    with httpx.Client(base_url=api_url, timeout=10) as client:
        for path, headers in (("/healthz", {}), ("/v1/auth/me", org.headers), ("/v1/history", org.headers)):
            answer = client.get(path, headers=headers)
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], path
            assert answer.headers["x-frame-options"] == "DENY", path
        assert client.get("/v1/auth/me", headers=org.headers).headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in client.get("/healthz").headers  # not production here
        app = client.get("/app/")
        assert "script-src 'self'" in app.headers["content-security-policy"]  # the web app keeps its own


def test_swagger_ui_is_served_from_this_server(api_url: str) -> None:
    with httpx.Client(base_url=api_url, timeout=10) as client:
        page = client.get("/docs")
        assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
        assert "cdn" not in page.text.lower() and "https://" not in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/init.js"):
            assert client.get(asset).status_code == 200, asset
        assert client.get("/redoc").status_code == 404  # ReDoc comes only from a CDN: off
