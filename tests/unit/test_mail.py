"""fapiao.mail against a real SMTP server (aiosmtpd on loopback, started here)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from fapiao.mail import (
    Mail,
    Mailer,
    MailFailed,
    MailNotConfigured,
    SmtpConfig,
    invite_mail,
    reset_mail,
    to_message,
)
from tests.smtp_server import Mailbox, smtp_server


@pytest.fixture(scope="module")
def box() -> Iterator[Mailbox]:
    with smtp_server() as server:
        yield server


def _config(box: Mailbox, password: str | None = None, timeout: float = 5) -> SmtpConfig:
    return SmtpConfig(
        host=box.host,
        port=box.port,
        tls="none",
        username=box.username,
        password=box.password if password is None else password,
        sender="Fapiao Sentinel <no-reply@fapiao.test>",
        timeout=timeout,
    )


def test_a_message_is_delivered_with_auth_and_read_back(box: Mailbox) -> None:
    mail = reset_mail("Someone@Example.com", "tok-123", 1800, "https://fapiao.example/")
    Mailer(_config(box)).send(mail)
    got = box.wait_for("someone@example.com")
    assert got["Subject"] == "Fapiao Sentinel 密码重置 / password reset"
    assert got["From"] == "Fapiao Sentinel <no-reply@fapiao.test>"
    body = got.get_content()
    assert "tok-123" in body and "30 分钟" in body and "https://fapiao.example/app/" in body
    assert box.logins  # it logged in with the credentials


def test_send_async_from_a_coroutine(box: Mailbox) -> None:
    mail = invite_mail("invitee@example.com", "inv-456", "某某公司", 72 * 3600, "http://127.0.0.1:8000")
    asyncio.run(Mailer(_config(box)).send_async(mail))
    got = box.wait_for("invitee@example.com")
    assert "「某某公司」" in got["Subject"] and "inv-456" in got.get_content()


def test_wrong_credentials_and_no_server_fail_clearly(box: Mailbox) -> None:
    refused = Mailer(_config(box, password="wrong", timeout=0.5))  # aiosmtpd stalls after a refused AUTH
    with pytest.raises(MailFailed):
        refused.send(Mail("x@example.com", "s", "b"))
    assert not box.messages_to("x@example.com")
    with pytest.raises(MailNotConfigured):
        Mailer(SmtpConfig("", 25, "none", "", "", "a@b", 1)).send(Mail("x@example.com", "s", "b"))
    assert not refused.send_logged(Mail("x@example.com", "s", "b"), "test")


def test_header_injection_is_refused() -> None:
    with pytest.raises(MailFailed):
        to_message(Mail("a@example.com\r\nBcc: evil@example.com", "s", "b"), "from@example.com")
    with pytest.raises(MailFailed):
        to_message(Mail("a@example.com", "hi\nBcc: evil@example.com", "b"), "from@example.com")
