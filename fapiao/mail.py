"""Mail by SMTP: password resets, invitations and (later) alert digests leave the server this way.

Why here and not in the API: tokens that let someone set a password must reach only the mailbox they
were issued for, so the API never returns them (outside the explicit local-development flag,
`FAPIAO_DEV_EXPOSE_TOKENS`). Any process (API, worker, CLI) builds one `Mailer` from its settings and
calls `send` (blocking: from a thread) or `await send_async` (from async code: it runs `send` in a
thread, so the event loop never waits on an SMTP server).

The messages themselves are pure functions (`reset_mail`, `invite_mail`, `join_mail`,
`already_registered_mail`), bilingual (zh first, then en), plain text only: nothing in them renders or
runs in a mail client.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

import structlog

from fapiao.settings import Settings

log = structlog.get_logger(__name__)

TlsMode = Literal["none", "starttls", "ssl"]


class MailError(Exception):
    """Root of the mail errors."""


class MailNotConfigured(MailError):
    """FAPIAO_SMTP_HOST is empty: this process cannot send mail."""


class MailFailed(MailError):
    """The SMTP server refused the message, or could not be reached."""


@dataclass(frozen=True)
class Mail:
    """One plain-text message to one recipient."""

    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: TlsMode
    username: str
    password: str
    sender: str
    timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            sender=settings.smtp_from,
            timeout=settings.smtp_timeout_seconds,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.host)


def to_message(mail: Mail, sender: str) -> EmailMessage:
    """The RFC 5322 message (UTF-8, so Chinese subjects and bodies survive any relay)."""
    for header in (mail.to, mail.subject, sender):
        if "\r" in header or "\n" in header:  # header injection (extra recipients, headers)
            raise MailFailed("a header holds a line break")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(mail.body, charset="utf-8")
    return message


class Mailer:
    """Sends `Mail` through the configured SMTP server: a fresh connection per message (resets and
    invitations are rare; a held connection would need keep-alive and reconnect logic for nothing)."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailer:
        return cls(SmtpConfig.from_settings(settings))

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def send(self, mail: Mail) -> None:
        """Deliver one message (blocking). MailNotConfigured without a host, MailFailed on refusal."""
        cfg = self.config
        if not cfg.enabled:
            raise MailNotConfigured("FAPIAO_SMTP_HOST is not set")
        message = to_message(mail, cfg.sender)
        try:
            smtp: smtplib.SMTP
            if cfg.tls == "ssl":
                smtp = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=cfg.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            with smtp:
                if cfg.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if cfg.username:
                    smtp.login(cfg.username, cfg.password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailFailed(f"SMTP {cfg.host}:{cfg.port}: {exc}") from exc

    async def send_async(self, mail: Mail) -> None:
        """`send` in a thread: for agents and other async code."""
        await asyncio.to_thread(self.send, mail)

    def send_logged(self, mail: Mail, kind: str) -> bool:
        """`send`, with a failure logged instead of raised (for background delivery after the answer
        has gone: the caller has nobody to tell). True when delivered."""
        try:
            self.send(mail)
        except MailError as exc:
            log.error("mail not sent", kind=kind, error=str(exc))
            return False
        log.info("mail sent", kind=kind)
        return True


def _app_link(public_url: str) -> str:
    return f"{public_url.rstrip('/')}/app/"


def reset_mail(to: str, token: str, ttl_seconds: int, public_url: str) -> Mail:
    minutes = max(1, ttl_seconds // 60)
    body = (
        "您好：\n\n有人为本邮箱的 Fapiao Sentinel 账户申请了密码重置。"
        f"重置令牌（{minutes} 分钟内有效，仅可使用一次）：\n\n"
        f"    {token}\n\n"
        f"在 {_app_link(public_url)} 或通过 POST /v1/auth/password-reset/confirm 使用。"
        "如非本人操作，请忽略本邮件，您的密码不会改变。\n\n"
        "---\n\n"
        f"Someone asked to reset the password of the Fapiao Sentinel account of this address. The reset "
        f"token (valid for {minutes} minutes, single use):\n\n"
        f"    {token}\n\n"
        f"Use it at {_app_link(public_url)} or with POST /v1/auth/password-reset/confirm. If this was not "
        "you, ignore this message: your password stays as it is.\n"
    )
    return Mail(to=to, subject="Fapiao Sentinel 密码重置 / password reset", body=body)


def invite_mail(to: str, token: str, org_name: str, ttl_seconds: int, public_url: str) -> Mail:
    hours = max(1, ttl_seconds // 3600)
    body = (
        f"您好：\n\n您被邀请加入 Fapiao Sentinel 上的组织「{org_name}」。"
        f"设置密码即接受邀请，令牌（{hours} 小时内有效）：\n\n"
        f"    {token}\n\n"
        f"在 {_app_link(public_url)} 或通过 POST /v1/auth/password-reset/confirm 设置密码。"
        "不认识该组织请忽略本邮件。\n\n"
        "---\n\n"
        f'You are invited to join the organisation "{org_name}" on Fapiao Sentinel. Setting a password '
        f"accepts the invitation; the token (valid for {hours} hours):\n\n"
        f"    {token}\n\n"
        f"Set it at {_app_link(public_url)} or with POST /v1/auth/password-reset/confirm. If you do not know "
        "this organisation, ignore this message.\n"
    )
    return Mail(to=to, subject=f"邀请加入「{org_name}」/ invitation to {org_name}", body=body)


def already_registered_mail(to: str, public_url: str) -> Mail:
    """Someone registered an organisation with an address that has an account: the API answered as if
    it worked (so nobody learns which addresses have accounts); the owner learns it here."""
    body = (
        "您好：\n\n有人尝试用本邮箱注册新的 Fapiao Sentinel 组织，但本邮箱已有账户，因此未创建新组织。"
        f"如是您本人，请直接在 {_app_link(public_url)} 登录，或通过 POST /v1/auth/password-reset/request "
        "重置密码；如非本人操作，请忽略本邮件。\n\n"
        "---\n\n"
        "Someone tried to register a new Fapiao Sentinel organisation with this address, which already has "
        "an account, so nothing was created. If it was you, log in at "
        f"{_app_link(public_url)} or reset your password (POST /v1/auth/password-reset/request); if not, "
        "ignore this message.\n"
    )
    return Mail(to=to, subject="Fapiao Sentinel 注册提醒 / registration attempt", body=body)


def join_mail(to: str, token: str, org_name: str, ttl_seconds: int, public_url: str) -> Mail:
    """An existing account is invited to another organisation: it joins only if its owner accepts."""
    hours = max(1, ttl_seconds // 3600)
    body = (
        f"您好：\n\n组织「{org_name}」邀请您的 Fapiao Sentinel 账户加入。只有您接受后才会加入："
        f"登录后将下面的令牌（{hours} 小时内有效）提交至 POST /v1/auth/invitations/accept。\n\n"
        f"    {token}\n\n"
        "不认识该组织请忽略本邮件，您的账户不会有任何变化。\n\n"
        "---\n\n"
        f'The organisation "{org_name}" invites your Fapiao Sentinel account to join it. You join only if '
        f"you accept: log in and POST this token (valid for {hours} hours) to "
        "/v1/auth/invitations/accept.\n\n"
        f"    {token}\n\n"
        "If you do not know this organisation, ignore this message: nothing changes. "
        f"({_app_link(public_url)})\n"
    )
    return Mail(to=to, subject=f"邀请加入「{org_name}」/ invitation to {org_name}", body=body)
