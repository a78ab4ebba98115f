"""Reset and invitation tokens leave the server only by mail (issue 16, items 4 and 9).

An API process as deployed (no FAPIAO_DEV_EXPOSE_TOKENS) sends its mail to a real SMTP server started by
the tests (tests/smtp_server.py, AUTH required); each message is read back from that server. Before the
fix, `POST /v1/auth/password-reset/request` answered anyone with the victim's reset token, and inviting
an outsider's email handed the inviter the token that sets the outsider's password.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.integration.conftest import register_org
from tests.smtp_server import Mailbox

pytestmark = pytest.mark.integration
TOKEN = re.compile(r"^    (\S{20,})$", re.MULTILINE)  # the token's own indented line in the message


def _token_in(mailbox: Mailbox, address: str, count: int = 1) -> str:
    message = mailbox.wait_for(address, count)
    found = TOKEN.findall(message.get_content())
    assert found and len(set(found)) == 1, message.get_content()
    return found[0]


def test_reset_token_goes_only_to_the_mailbox(strict_api: str, mailbox: Mailbox) -> None:
    victim = register_org(strict_api, "邮件重置企业")
    with httpx.Client(base_url=strict_api, timeout=10) as client:
        asked = client.post("/v1/auth/password-reset/request", json={"email": victim.email})
        nobody = client.post("/v1/auth/password-reset/request", json={"email": "no-one-here@example.com"})
        assert asked.status_code == nobody.status_code == 202
        assert asked.json() == nobody.json()  # same answer: no token, no hint whether the account exists
        assert asked.json()["reset_token"] is None
        message = mailbox.wait_for(victim.email)
        assert message["Subject"] == "Fapiao Sentinel 密码重置 / password reset"
        token = _token_in(mailbox, victim.email)
        done = client.post(
            "/v1/auth/password-reset/confirm", json={"token": token, "new_password": "Mailed-Lantern-58"}
        )
        assert done.status_code == 204
        login = client.post("/v1/auth/login", json={"email": victim.email, "password": "Mailed-Lantern-58"})
        assert login.status_code == 200
    assert not mailbox.messages_to("no-one-here@example.com")


def test_invitation_token_goes_to_the_invitee_not_the_inviter(strict_api: str, mailbox: Mailbox) -> None:
    inviter = register_org(strict_api, "邀请企业 Inviting Co.")
    outsider = f"outsider-{time.time_ns()}@example.com"
    with httpx.Client(base_url=strict_api, timeout=10) as client:
        invited = client.post(
            "/v1/orgs/me/members", headers=inviter.admin, json={"email": outsider, "role": "analyst"}
        )
        assert invited.status_code == 201 and invited.json()["invited"]
        assert invited.json()["invite_token"] is None  # the inviter cannot set the outsider's password
        message = mailbox.wait_for(outsider)
        assert "邀请企业 Inviting Co." in message["Subject"]
        token = _token_in(mailbox, outsider)
        done = client.post(
            "/v1/auth/password-reset/confirm", json={"token": token, "new_password": "Invited-Lamp-31"}
        )
        assert done.status_code == 204
        login = client.post("/v1/auth/login", json={"email": outsider, "password": "Invited-Lamp-31"})
        assert login.status_code == 200 and login.json()["org_id"] == inviter.org_id
