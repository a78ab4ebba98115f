"""A real SMTP server for tests (aiosmtpd, in a thread of the test process) that keeps what it receives.

`with smtp_server(username, password) as box:` listens on a free port of 127.0.0.1 and requires AUTH
with those credentials (over plain SMTP: loopback only); `box.wait_for(address)` reads a message back.
"""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# the server requires AUTH on plain SMTP on purpose (loopback only): no warning per connection
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")


class Mailbox:
    """The aiosmtpd handler: every accepted message, parsed, with its envelope recipients."""

    def __init__(self, host: str, port: int, username: str, password: str) -> None:
        self.host, self.port, self.username, self.password = host, port, username, password
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.logins: list[str] = []
        self._changed = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default)
        with self._changed:
            self.received.append(([r.lower() for r in envelope.rcpt_tos], message))  # type: ignore[arg-type]
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        if ok:
            self.logins.append(self.username)
        return AuthResult(success=ok)

    def messages_to(self, address: str) -> list[EmailMessage]:
        with self._changed:
            return [m for rcpts, m in self.received if address.lower() in rcpts]

    def wait_for(self, address: str, count: int = 1, timeout: float = 15.0) -> EmailMessage:
        """The `count`-th message to `address`, waiting at most `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [m for rcpts, m in self.received if address.lower() in rcpts]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no message #{count} to {address} within {timeout} s")
                self._changed.wait(left)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(username: str = "mailer", password: str = "Smtp-Test-Secret-9") -> Iterator[Mailbox]:
    box = Mailbox("127.0.0.1", _free_port(), username, password)
    controller = Controller(
        box,
        hostname=box.host,
        port=box.port,
        authenticator=box.authenticate,
        auth_required=True,
        auth_require_tls=False,  # loopback only
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
