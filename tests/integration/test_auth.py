"""Authentication and authorisation through the real API process: each attack gets the right 4xx,
a bilingual message, and no data."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pyotp
from sqlalchemy import update

from fapiao.accounts import tokens
from fapiao.accounts.db import make_engine, session_factory
from fapiao.accounts.models import PasswordResetToken
from fapiao.settings import Settings
from tests.integration.conftest import TEST_PASSWORD, TEST_SECRET, Org

MISSING = "/v1/checks/00000000-0000-4000-8000-000000000000"


def _detail(response: httpx.Response) -> dict[str, str]:
    detail = response.json()["detail"]
    assert detail["msg"] and detail["msg_zh"], detail
    return detail  # type: ignore[no-any-return]


def _login(api_url: str, email: str, password: str) -> httpx.Response:
    return httpx.post(f"{api_url}/v1/auth/login", json={"email": email, "password": password}, timeout=10)


def test_wrong_password_and_unknown_account_get_the_same_401(api_url: str, org: Org) -> None:
    wrong = _login(api_url, org.email, TEST_PASSWORD + "x")
    unknown = _login(api_url, "nobody@example.com", TEST_PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert _detail(wrong) == _detail(unknown)
    assert "access_token" not in wrong.text


def test_brute_force_locks_the_account_with_back_off(api_url: str, make_org: Callable[..., Org]) -> None:
    victim = make_org("被攻击企业")
    for _ in range(5):
        assert _login(api_url, victim.email, "Guess-Number-1").status_code == 401
    locked = _login(api_url, victim.email, victim.password)  # even the right password must wait
    assert locked.status_code == 429 and _detail(locked)["code"] == "account_locked"
    assert 1 <= int(locked.headers["Retry-After"]) <= 30
    assert "access_token" not in locked.text
    events = httpx.get(f"{api_url}/v1/orgs/me/audit-events", headers=victim.admin, timeout=10).json()["data"]
    kinds = [e["kind"] for e in events]
    assert kinds.count("login.failure") == 5 and "login.locked" in kinds


def test_password_reset_tokens_are_single_use_and_expire(
    api_url: str, make_org: Callable[..., Org], settings: Settings
) -> None:
    someone = make_org("重置企业")
    with httpx.Client(base_url=api_url, timeout=10) as client:
        nobody = client.post("/v1/auth/password-reset/request", json={"email": "nobody@example.com"})
        asked = client.post("/v1/auth/password-reset/request", json={"email": someone.email})
        assert nobody.status_code == asked.status_code == 202
        assert nobody.json()["msg"] == asked.json()["msg"] and nobody.json()["reset_token"] is None
        token = asked.json()["reset_token"]  # FAPIAO_ENV=test: no mail, the token comes back
        done = client.post(
            "/v1/auth/password-reset/confirm", json={"token": token, "new_password": "New-Lantern-58"}
        )
        assert done.status_code == 204
        again = client.post(
            "/v1/auth/password-reset/confirm", json={"token": token, "new_password": "X-Lantern-69"}
        )
        assert again.status_code == 400 and _detail(again)["code"] == "reset_token_used"
        assert client.get("/v1/auth/me", headers=someone.admin).status_code == 401  # sessions ended
        assert _login(api_url, someone.email, someone.password).status_code == 401
        assert _login(api_url, someone.email, "New-Lantern-58").status_code == 200

        late = client.post("/v1/auth/password-reset/request", json={"email": someone.email}).json()[
            "reset_token"
        ]
        sessions = session_factory(make_engine(settings.accounts_url))
        with sessions.begin() as s:  # half an hour passes
            s.execute(
                update(PasswordResetToken)
                .where(PasswordResetToken.token_hash == tokens.digest(late))
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        expired = client.post(
            "/v1/auth/password-reset/confirm", json={"token": late, "new_password": "X-Lantern-69"}
        )
        assert expired.status_code == 400 and _detail(expired)["code"] == "reset_token_expired"
        made_up = client.post(
            "/v1/auth/password-reset/confirm", json={"token": "x" * 43, "new_password": "X-Lantern-69"}
        )
        assert made_up.status_code == 400 and _detail(made_up)["code"] == "invalid_reset_token"
        weak = client.post(
            "/v1/auth/password-reset/confirm", json={"token": late, "new_password": "password1"}
        )
        assert weak.status_code == 400 and _detail(weak)["code"] == "weak_password"


def test_totp_two_factor_login(api_url: str, make_org: Callable[..., Org]) -> None:
    person = make_org("双因素企业")
    with httpx.Client(base_url=api_url, timeout=10) as client:
        setup = client.post("/v1/auth/2fa/setup", headers=person.admin)
        assert setup.status_code == 200 and setup.json()["qr_png_base64"].startswith("iVBORw0KGgo")  # PNG
        totp = pyotp.TOTP(pyotp.parse_uri(setup.json()["otpauth_uri"]).secret)
        wrong_enable = client.post(
            "/v1/auth/2fa/enable", headers=person.admin, json={"code": _not(totp.now())}
        )
        assert wrong_enable.status_code == 400
        enabled = client.post("/v1/auth/2fa/enable", headers=person.admin, json={"code": totp.now()})
        assert enabled.status_code == 200 and len(enabled.json()["recovery_codes"]) == 10

        first = _login(api_url, person.email, person.password)
        assert (
            first.status_code == 200 and first.json()["mfa_required"] and "access_token" not in first.json()
        )
        mfa = first.json()["mfa_token"]
        assert client.get("/v1/auth/me", headers={"Authorization": f"Bearer {mfa}"}).status_code == 401
        wrong = client.post("/v1/auth/login/2fa", json={"mfa_token": mfa, "code": _not(totp.now())})
        assert wrong.status_code == 401 and _detail(wrong)["code"] == "invalid_totp"
        next_code = totp.at(datetime.now(UTC) + timedelta(seconds=30))  # the current one enabled 2FA
        session = client.post("/v1/auth/login/2fa", json={"mfa_token": mfa, "code": next_code})
        assert session.status_code == 200, session.text
        bearer = {"Authorization": f"Bearer {session.json()['access_token']}"}
        assert client.get("/v1/auth/me", headers=bearer).json()["kind"] == "user"
        replay = client.post("/v1/auth/login/2fa", json={"mfa_token": mfa, "code": next_code})
        assert replay.status_code == 401
        recovery = enabled.json()["recovery_codes"][0]
        assert (
            client.post("/v1/auth/login/2fa", json={"mfa_token": mfa, "recovery_code": recovery}).status_code
            == 200
        )
        assert (
            client.post("/v1/auth/login/2fa", json={"mfa_token": mfa, "recovery_code": recovery}).status_code
            == 401
        )


def _not(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_missing_forged_expired_and_logged_out_tokens_get_401(api_url: str, org: Org) -> None:
    with httpx.Client(base_url=api_url, timeout=10) as client:
        me = client.get("/v1/auth/me", headers=org.admin).json()
        now = datetime.now(UTC)
        forged, _, _ = tokens.issue(
            b"not the server secret", "session", me["subject"], org.org_id, 0, 600, now
        )
        expired, _, _ = tokens.issue(
            TEST_SECRET.encode(), "session", me["subject"], org.org_id, 0, 60, now - timedelta(hours=2)
        )
        valid_other_org, _, _ = tokens.issue(
            TEST_SECRET.encode(), "session", me["subject"], "demo", 0, 600, now
        )
        for headers in (
            {},
            {"Authorization": "Bearer"},
            {"Authorization": "Bearer not.a.jwt"},
            {"Authorization": f"Bearer {forged}"},
            {"Authorization": f"Bearer {expired}"},
            {"Authorization": f"Bearer {valid_other_org}"},  # signed right, but not a member there
            {"Authorization": f"Basic {org.token}"},
            {"X-API-Key": "fsk_000000000000_" + "A" * 43},
            {"X-API-Key": org.api_key[:-2] + "zz"},
        ):
            answer = client.get(MISSING, headers=headers)
            assert answer.status_code == 401, (headers, answer.text)
            assert answer.headers["WWW-Authenticate"] == "Bearer"
            _detail(answer)

        session = _login(api_url, org.email, org.password).json()["access_token"]
        bearer = {"Authorization": f"Bearer {session}"}
        assert client.get(MISSING, headers=bearer).status_code == 404
        assert client.post("/v1/auth/logout", headers=bearer).status_code == 204
        assert client.get(MISSING, headers=bearer).status_code == 401


def test_revoked_keys_wrong_scopes_and_roles(api_url: str, org: Org) -> None:
    with httpx.Client(base_url=api_url, timeout=10) as client:
        made = client.post("/v1/api-keys", headers=org.admin, json={"name": "reader", "scopes": ["read"]})
        assert made.status_code == 201 and made.json()["key"].startswith("fsk_")
        reader = {"X-API-Key": made.json()["key"]}
        listed = client.get("/v1/api-keys", headers=org.admin).json()
        assert made.json()["key"] not in str(listed)  # shown once, never listed
        assert client.get(MISSING, headers=reader).status_code == 404
        submit = client.post("/v1/checks", headers=reader, json={"invoice_number": "12345678"})
        assert submit.status_code == 403 and _detail(submit)["code"] == "missing_scope"
        assert client.get("/v1/api-keys", headers=reader).status_code == 403  # keys have no roles
        assert client.post("/v1/auth/2fa/setup", headers=reader).status_code == 403
        revoked = client.delete(f"/v1/api-keys/{made.json()['id']}", headers=org.admin)
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert client.get(MISSING, headers=reader).status_code == 401

        invited = client.post(
            "/v1/orgs/me/members",
            headers=org.admin,
            json={"email": f"an-{time.time_ns()}@example.com", "role": "analyst"},
        )
        assert invited.status_code == 201 and invited.json()["invited"]
        set_password = client.post(
            "/v1/auth/password-reset/confirm",
            json={"token": invited.json()["invite_token"], "new_password": "Analyst-Lamp-31"},
        )
        assert set_password.status_code == 204
        analyst_token = _login(api_url, invited.json()["email"], "Analyst-Lamp-31").json()["access_token"]
        analyst = {"Authorization": f"Bearer {analyst_token}"}
        assert client.get(MISSING, headers=analyst).status_code == 404  # analysts read
        denied = client.post("/v1/checks", headers=analyst, json={"invoice_number": "12345678"})
        assert denied.status_code == 403  # but do not submit
        assert client.get("/v1/orgs/me/members", headers=analyst).status_code == 403
        promoted = client.patch(
            f"/v1/orgs/me/members/{invited.json()['user_id']}", headers=org.admin, json={"role": "admin"}
        )
        assert promoted.status_code == 200
        assert client.get("/v1/orgs/me/members", headers=analyst).json()["count"] == 2  # at once


def test_rate_limit_per_key_answers_429_with_retry_after(api_url: str, make_org: Callable[..., Org]) -> None:
    slow = make_org("限流企业", rate_per_minute=3)
    with httpx.Client(base_url=api_url, timeout=10, headers=slow.headers) as client:
        answers = [client.get(MISSING) for _ in range(4)]
    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    limited = answers[-1]
    assert _detail(limited)["code"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
    other = httpx.get(f"{api_url}{MISSING}", headers=slow.admin, timeout=10)
    assert other.status_code == 404  # the limit is per caller


def test_oversized_bodies_get_413(api_url: str, api_headers: dict[str, str]) -> None:
    big = b'{"invoice_number": "' + b"1" * (2 << 20) + b'"}'
    with httpx.Client(base_url=api_url, timeout=30, headers=api_headers) as client:
        declared = client.post("/v1/checks", content=big, headers={"content-type": "application/json"})
        assert declared.status_code == 413 and _detail(declared)["code"] == "body_too_large"

        def chunked():  # type: ignore[no-untyped-def]
            for start in range(0, len(big), 65536):
                yield big[start : start + 65536]

        streamed = client.post("/v1/checks", content=chunked(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        login = client.post("/v1/auth/login", content=big, headers={"content-type": "application/json"})
        assert login.status_code == 413
