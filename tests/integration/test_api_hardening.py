"""The API as deployed (`strict_api`: production settings, mail only, default limits) against the
weaknesses of issue 16 item 8: login floods, account enumeration, members added without consent, open
/metrics, no HSTS, slow and huge headers. Each test tries the attack; before the fix each one worked."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest

from fapiao.accounts import tokens
from fapiao.settings import PLACEHOLDER_SECRET
from tests.integration.conftest import (
    STRICT_AUTH_PER_EMAIL,
    STRICT_AUTH_PER_IP,
    STRICT_HEADER_TIMEOUT,
    STRICT_METRICS_TOKEN,
    TEST_PASSWORD,
    register_org,
)
from tests.integration.processes import ROOT
from tests.smtp_server import Mailbox

pytestmark = pytest.mark.integration
TOKEN = re.compile(r"^    (\S{20,})$", re.MULTILINE)


def _from(address: str, api: str) -> httpx.Client:
    """A client whose connections come from `address` (a 127.0.0.x of its own: its own per-IP bucket)."""
    return httpx.Client(base_url=api, timeout=20, transport=httpx.HTTPTransport(local_address=address))


def _login(client: httpx.Client, email: str, password: str = "Wrong-Lantern-11") -> httpx.Response:
    return client.post("/v1/auth/login", json={"email": email, "password": password})


def test_metrics_need_the_token_and_production_sends_hsts(strict_api: str) -> None:
    with httpx.Client(base_url=strict_api, timeout=10) as client:
        assert client.get("/metrics/").status_code == 404
        assert client.get("/metrics/", headers={"Authorization": "Bearer guess"}).status_code == 404
        scraped = client.get("/metrics/", headers={"Authorization": f"Bearer {STRICT_METRICS_TOKEN}"})
        assert scraped.status_code == 200 and "fapiao_http_requests_total" in scraped.text
        assert "max-age=" in client.get("/healthz").headers["strict-transport-security"]


def test_production_refuses_the_placeholder_secret_and_sessions_forged_with_it(
    strict_api: str, strict_env: dict[str, str]
) -> None:
    """Issue 16 item 4: the placeholder JWT secret let an analyst forge an admin session. The API (and
    every command) refuses to start in production with it; the deployed API refuses a session forged with
    it for a real admin of a real organisation."""
    env = {k: v for k, v in strict_env.items() if k != "FAPIAO_SECRET_KEY"}
    started = subprocess.run(
        [sys.executable, "-m", "services.cli", "api", "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0 and "FAPIAO_SECRET_KEY must be set" in started.stdout + started.stderr
    owner = register_org(strict_api, "占位密钥 Placeholder Co.")
    with httpx.Client(base_url=strict_api, timeout=20) as client:
        admin_id = client.get("/v1/auth/me", headers=owner.admin).json()["subject"]
        forged, _, _ = tokens.issue(
            PLACEHOLDER_SECRET.encode(), "session", admin_id, owner.org_id, 0, 600, datetime.now(UTC)
        )
        answer = client.get("/v1/orgs/me/members", headers={"Authorization": f"Bearer {forged}"})
        assert answer.status_code == 401


def test_logins_are_limited_per_email_and_per_ip(strict_api: str) -> None:
    victim = f"victim-{uuid.uuid4().hex[:8]}@example.com"

    def same_email(n: int) -> httpx.Response:  # from a different address each time: only the email counts
        with _from(f"127.0.1.{n + 1}", strict_api) as client:
            return client.post("/v1/auth/password-reset/request", json={"email": victim})

    refused = _granted_until_refused(STRICT_AUTH_PER_EMAIL, same_email)
    since = time.monotonic()
    assert refused.json()["detail"]["code"] == "too_many_attempts"
    assert int(refused.headers["Retry-After"]) >= 1
    with _from("127.0.1.200", strict_api) as client:
        _still_refused(_login(client, victim), since, STRICT_AUTH_PER_EMAIL)  # the same email, logging in
    with _from("127.0.2.1", strict_api) as client:

        def same_address(n: int) -> httpx.Response:  # one address, many emails: the IP counts
            return client.post("/v1/auth/password-reset/request", json={"email": f"u{n}@example.com"})

        _granted_until_refused(STRICT_AUTH_PER_IP, same_address)
        since = time.monotonic()
        _still_refused(_login(client, "someone@example.com"), since, STRICT_AUTH_PER_IP)
        body = {"org_name": "x", "email": "new@example.com", "password": TEST_PASSWORD}
        _still_refused(client.post("/v1/auth/register", json=body), since, STRICT_AUTH_PER_IP)


def _granted_until_refused(limit: int, attempt: Callable[[int], httpx.Response]) -> httpx.Response:
    """Call `attempt(n)` until it is refused (at most twice `limit` times) and return the refusal: a
    bucket grants `limit` and what refilled meanwhile (`limit` per minute; on a loaded machine the
    attempts take seconds), never what two buckets in memory gave."""
    started, granted = time.monotonic(), 0
    answer = attempt(granted)
    while answer.status_code == 202 and granted < 2 * limit:
        granted += 1
        answer = attempt(granted)
    refilled = (time.monotonic() - started) * limit / 60
    assert answer.status_code == 429 and limit <= granted <= limit + refilled + 1, (granted, refilled)
    return answer


def _still_refused(answer: httpx.Response, since: float, limit: int) -> None:
    """`answer`, taken after the bucket was found empty at `since`, is refused, unless a whole token
    refilled meanwhile (`limit` per minute), when granting it is the rule too."""
    refilled = (time.monotonic() - since) * limit / 60
    assert answer.status_code == 429 or refilled >= 1, (answer.status_code, refilled)


def test_limits_and_lockouts_hold_across_two_api_processes(strict_api: str, strict_api_twin: str) -> None:
    """Two API processes on one accounts store (as behind a balancer): the per-email and per-IP buckets
    and an unknown email's lock are the store's, so alternating between them gains nothing. They were in
    each process's memory: two processes allowed twice each limit, and the lock held on one only."""
    apis = (strict_api, strict_api_twin)
    victim = f"twin-victim-{uuid.uuid4().hex[:8]}@example.com"

    def same_email(n: int) -> httpx.Response:  # each from its own address: only the email counts
        with _from(f"127.0.4.{n + 1}", apis[n % 2]) as client:
            return client.post("/v1/auth/password-reset/request", json={"email": victim})

    def same_address(n: int) -> httpx.Response:  # one address, a new email each time: only the IP counts
        with _from("127.0.5.1", apis[n % 2]) as client:
            email = f"twin-{n}-{uuid.uuid4().hex[:6]}@example.com"
            return client.post("/v1/auth/password-reset/request", json={"email": email})

    _granted_until_refused(STRICT_AUTH_PER_EMAIL, same_email)
    _granted_until_refused(STRICT_AUTH_PER_IP, same_address)
    nobody = f"twin-nobody-{uuid.uuid4().hex[:8]}@example.com"
    with _from("127.0.5.2", strict_api) as client:
        assert [_login(client, nobody).status_code for _ in range(5)] == [401] * 5
    with _from("127.0.5.3", strict_api_twin) as client:
        locked = _login(client, nobody)  # the 6th failure, on the other process: locked there too
        assert locked.status_code == 429 and locked.json()["detail"]["code"] == "account_locked"


def test_no_account_enumeration_by_register_lockout_or_reset(strict_api: str, mailbox: Mailbox) -> None:
    owner = register_org(strict_api, "枚举测试 Enum Co.")
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    with _from("127.0.3.1", strict_api) as client:
        again = client.post(
            "/v1/auth/register", json={"org_name": "x", "email": owner.email, "password": TEST_PASSWORD}
        )
        fresh = client.post(
            "/v1/auth/register",
            json={
                "org_name": "x",
                "email": f"new-{uuid.uuid4().hex[:8]}@example.com",
                "password": TEST_PASSWORD,
            },
        )
        assert again.status_code == fresh.status_code == 201  # was 409 for a taken email
        assert again.json().keys() == fresh.json().keys() and again.json()["org_id"] != owner.org_id
        assert "already has an account" in mailbox.wait_for(owner.email).get_content()  # the owner learns it
    with _from("127.0.3.2", strict_api) as client:
        real = [_login(client, owner.email).status_code for _ in range(6)]
    with _from("127.0.3.3", strict_api) as client:
        fake = [_login(client, nobody).status_code for _ in range(6)]
        assert real == fake == [401] * 5 + [429]  # an unknown email locks exactly like an account
        locked = _login(client, nobody)
        assert locked.json()["detail"]["code"] == "account_locked" and "Retry-After" in locked.headers
        one = client.post("/v1/auth/password-reset/request", json={"email": owner.email})
        two = client.post("/v1/auth/password-reset/request", json={"email": nobody})
        assert one.status_code == two.status_code == 202 and one.json() == two.json()


def test_an_existing_account_joins_another_organisation_only_by_accepting(
    strict_api: str, mailbox: Mailbox
) -> None:
    person, inviter = (
        register_org(strict_api, "被邀请者 Invitee Co."),
        register_org(strict_api, "邀请方 Inviter Co."),
    )
    with httpx.Client(base_url=strict_api, timeout=20) as client:
        added = client.post(
            "/v1/orgs/me/members", headers=inviter.admin, json={"email": person.email, "role": "admin"}
        )
        assert added.status_code == 201 and added.json()["invited"] and added.json()["invite_token"] is None
        members = client.get("/v1/orgs/me/members", headers=inviter.admin).json()["data"]
        assert person.email not in [m["email"] for m in members]  # not without consent
        assert (
            client.post("/v1/auth/login", json={"email": person.email, "password": TEST_PASSWORD}).json()[
                "org_id"
            ]
            == person.org_id
        )  # still only their own organisation
        token = TOKEN.findall(mailbox.wait_for(person.email).get_content())[0]
        stolen = client.post("/v1/auth/invitations/accept", headers=inviter.admin, json={"token": token})
        assert stolen.status_code == 400  # the inviter cannot accept for them
        accepted = client.post("/v1/auth/invitations/accept", headers=person.admin, json={"token": token})
        assert accepted.status_code == 200 and accepted.json()["role"] == "admin"
        members = client.get("/v1/orgs/me/members", headers=inviter.admin).json()["data"]
        assert person.email in [m["email"] for m in members]


def test_slow_and_huge_headers_are_cut_off(strict_api: str) -> None:
    host, port = urlsplit(strict_api).hostname, urlsplit(strict_api).port
    assert host and port
    slow = []
    for _ in range(50):
        sock = socket.create_connection((host, port), timeout=5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        slow.append(sock)
    started = time.monotonic()
    closed = 0
    for sock in slow:
        sock.settimeout(max(0.1, STRICT_HEADER_TIMEOUT + 3 - (time.monotonic() - started)))
        with contextlib.suppress(TimeoutError):
            closed += sock.recv(1) == b""  # the server hung up
        sock.close()
    assert closed == len(slow) and time.monotonic() - started < STRICT_HEADER_TIMEOUT + 3
    huge = httpx.get(f"{strict_api}/healthz", headers={"X-Big": "a" * 200_000}, timeout=10)
    assert huge.status_code == 431
    assert httpx.get(f"{strict_api}/healthz", timeout=10).status_code == 200  # and the server is fine
