"""Delivering reset and invitation tokens by mail, after the answer has gone (fapiao.mail).

Why in the background: the answer to a reset request must look and take the same whether the account
exists or not; an SMTP round trip only for existing accounts would tell them apart by timing.
"""

from __future__ import annotations

import structlog
from fastapi import BackgroundTasks

from fapiao.accounts.resets import INVITE_TTL_SECONDS
from fapiao.mail import invite_mail, reset_mail
from services.api.accounts_state import AccountsState

log = structlog.get_logger(__name__)


def _undeliverable(accounts: AccountsState, kind: str) -> bool:
    if accounts.mailer.enabled:
        return False
    if not accounts.ctx.expose_tokens:
        log.warning("token issued but FAPIAO_SMTP_HOST is not set: it cannot be delivered", kind=kind)
    return True


def send_reset(background: BackgroundTasks, accounts: AccountsState, email: str, token: str | None) -> None:
    if token is None or _undeliverable(accounts, "password_reset"):
        return
    mail = reset_mail(email, token, accounts.ctx.reset_ttl, accounts.public_url)
    background.add_task(accounts.mailer.send_logged, mail, "password_reset")


def send_invite(
    background: BackgroundTasks, accounts: AccountsState, email: str, token: str | None, org_name: str
) -> None:
    if token is None or _undeliverable(accounts, "invitation"):
        return
    mail = invite_mail(email, token, org_name, INVITE_TTL_SECONDS, accounts.public_url)
    background.add_task(accounts.mailer.send_logged, mail, "invitation")
