"""Cross-organisation reads (IDOR) through every check endpoint, and receipts (查验证明).

Organisation B knows organisation A's check id, member id and key id; every attempt answers exactly as
for an id that does not exist (404, same body), and nothing of A's invoice appears in any answer."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from fapiao.crypto import sm2
from fapiao.receipts import signing
from tests.factories import issued
from tests.integration.conftest import Org, publish_registered
from tests.integration.processes import ROOT

NOBODY = "00000000-0000-4000-8000-000000000000"


def _body(inv) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "invoice_code": inv.invoice_code,
        "invoice_number": inv.invoice_number,
        "issue_date": inv.issue_date.isoformat(),
        "check_code": inv.check_code[-6:],
    }


@pytest.fixture(scope="module")
async def decided(
    api_url: str, make_org: Callable[..., Org], publisher_module, settings
) -> tuple[Org, Org, dict]:  # type: ignore[no-untyped-def]
    a, b = make_org("甲公司 Org A"), make_org("乙公司 Org B")
    inv = issued(number="40000001")
    await publish_registered(publisher_module, settings, inv)
    async with httpx.AsyncClient(base_url=api_url, timeout=15, headers=a.headers) as client:
        answer = await client.post("/v1/checks", params={"wait": 5}, json=_body(inv))
    assert answer.status_code == 200 and answer.json()["verdict"] == "consistent", answer.text
    return a, b, answer.json()


@pytest.fixture(scope="module")
async def publisher_module(settings, topics_ready):  # type: ignore[no-untyped-def]
    from fapiao.bus import Publisher

    pub = Publisher(settings)
    await pub.start()
    yield pub
    await pub.stop()


async def test_another_organisation_cannot_read_a_check(api_url: str, decided) -> None:  # type: ignore[no-untyped-def]
    a, b, view = decided
    check_id = view["check_id"]
    secrets_of_a = ("40000001", view["invoice"]["seller"]["name"], view["invoice"]["buyer"]["name"])
    async with httpx.AsyncClient(base_url=api_url, timeout=15) as client:
        for headers in (b.headers, b.admin):
            for method, path in (
                ("GET", "/v1/checks/{}"),
                ("POST", "/v1/checks/{}/refresh"),
                ("GET", "/v1/checks/{}/receipt"),
                ("GET", "/v1/checks/{}/receipt?format=pdf"),
            ):
                theirs = await client.request(method, path.format(check_id), headers=headers)
                nobody = await client.request(method, path.format(NOBODY), headers=headers)
                assert theirs.status_code == nobody.status_code == 404, (path, theirs.text)
                assert theirs.json() == nobody.json()
                assert not any(s in theirs.text for s in secrets_of_a)
        own = await client.get(f"/v1/checks/{check_id}", headers=a.headers)
        assert own.status_code == 200 and own.json()["verdict"] == "consistent"


async def test_the_same_idempotency_key_in_two_organisations_is_two_checks(api_url: str, decided) -> None:  # type: ignore[no-untyped-def]
    a, b, _ = decided
    inv = issued(number="40000001")
    headers = {"Idempotency-Key": "shared-reimbursement-42"}
    async with httpx.AsyncClient(base_url=api_url, timeout=15) as client:
        first = await client.post("/v1/checks", json=_body(inv), headers={**headers, **a.headers})
        second = await client.post("/v1/checks", json=_body(inv), headers={**headers, **b.headers})
    assert first.status_code == second.status_code == 202
    assert first.json()["check_id"] != second.json()["check_id"]


async def test_members_and_keys_of_another_organisation_are_not_found(api_url: str, decided) -> None:  # type: ignore[no-untyped-def]
    a, b, _ = decided
    async with httpx.AsyncClient(base_url=api_url, timeout=15) as client:
        a_admin = (await client.get("/v1/auth/me", headers=a.admin)).json()["subject"]
        a_key = (await client.get("/v1/api-keys", headers=a.admin)).json()["data"][0]["id"]
        role = await client.patch(f"/v1/orgs/me/members/{a_admin}", headers=b.admin, json={"role": "analyst"})
        removed = await client.delete(f"/v1/orgs/me/members/{a_admin}", headers=b.admin)
        revoked = await client.delete(f"/v1/api-keys/{a_key}", headers=b.admin)
        assert role.status_code == removed.status_code == revoked.status_code == 404
        b_members = (await client.get("/v1/orgs/me/members", headers=b.admin)).json()
        assert a.email not in json.dumps(b_members)
        b_audit = (await client.get("/v1/orgs/me/audit-events", headers=b.admin)).json()
        assert a_admin not in json.dumps(b_audit) and a.org_id not in json.dumps(b_audit)
        still = await client.get(f"/v1/checks/{NOBODY}", headers=a.headers)
        assert still.status_code == 404  # A's key still works


async def test_receipts_are_sm2_signed_and_verifiable(api_url: str, decided, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, _, view = decided
    async with httpx.AsyncClient(base_url=api_url, timeout=15, headers=a.headers) as client:
        pem = (await client.get("/v1/keys/receipt-public-key")).text
        hexkey = (await client.get("/v1/keys/receipt-public-key", params={"format": "hex"})).text.strip()
        document = (await client.get(f"/v1/checks/{view['check_id']}/receipt")).json()
        pdf = await client.get(f"/v1/checks/{view['check_id']}/receipt", params={"format": "pdf"})
    async with httpx.AsyncClient(base_url=api_url, timeout=15, headers=a.admin) as client:
        events = (await client.get("/v1/orgs/me/audit-events")).json()["data"]
    public = sm2.load_public_key(pem)
    assert sm2.load_public_key(hexkey) == public
    receipt = document["receipt"]
    assert receipt["org_id"] == a.org_id and receipt["check"]["check_id"] == view["check_id"]
    assert receipt["check"]["invoice_number"] == "40000001" and receipt["check"]["verdict"] == "consistent"
    assert signing.verify(document, public)[0]
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 1000
    assert [e["kind"] for e in events].count("receipt.exported") >= 2  # an export is a security event

    (tmp_path / "key.pem").write_text(pem)
    (tmp_path / "receipt.json").write_text(json.dumps(document, ensure_ascii=False))
    tampered = json.loads(json.dumps(document))
    tampered["receipt"]["check"]["verdict"] = "inconsistent"
    (tmp_path / "tampered.json").write_text(json.dumps(tampered, ensure_ascii=False))

    def verify(name: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "services.cli", "receipt", "verify", str(tmp_path / name)]
        return subprocess.run(
            [*command, "--public-key", str(tmp_path / "key.pem")], cwd=ROOT, capture_output=True, text=True
        )

    good, bad = verify("receipt.json"), verify("tampered.json")
    assert good.returncode == 0 and "VALID" in good.stdout, good.stderr
    assert bad.returncode == 1 and "INVALID" in bad.stderr


async def test_a_receipt_needs_a_final_verdict(api_url: str, decided, publisher_module) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    a, _, _ = decided
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    held = issued(number="40000002", issue_date=today)  # not in the register yet: held (pending_sync)
    async with httpx.AsyncClient(base_url=api_url, timeout=15, headers=a.headers) as client:
        answer = await client.post("/v1/checks", params={"wait": 5}, json=_body(held))
        assert answer.json()["status"] == "pending_sync", answer.text
        receipt = await client.get(f"/v1/checks/{answer.json()['check_id']}/receipt")
    assert receipt.status_code == 409 and receipt.json()["detail"]["msg_zh"]
