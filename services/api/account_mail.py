"""Delivering reset and invitation tokens by mail, after the answer has gone (fapiao.mail).

Why in the background: the answer to a reset request must look and take the same whether the account
exists or not; an SMTP round trip only for existing accounts would tell them apart by timing.
"""

from __future__ import annotations

import structlog
from fastapi import BackgroundTasks

from fapiao.accounts.orgs import Invite
from fapiao.accounts.resets import INVITE_TTL_SECONDS
from fapiao.mail import already_registered_mail, invite_mail, join_mail, reset_mail
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


def send_invite(background: BackgroundTasks, accounts: AccountsState, invite: Invite, org_name: str) -> None:
    if _undeliverable(accounts, "invitation"):
        return
    to, token, url = invite.member.email, invite.token, accounts.public_url
    if invite.accepted_by == "password":
        mail = invite_mail(to, token, org_name, INVITE_TTL_SECONDS, url)
    else:
        mail = join_mail(to, token, org_name, INVITE_TTL_SECONDS, url)
    background.add_task(accounts.mailer.send_logged, mail, "invitation")


def send_already_registered(background: BackgroundTasks, accounts: AccountsState, email: str) -> None:
    if _undeliverable(accounts, "already_registered"):
        return
    mail = already_registered_mail(email, accounts.public_url)
    background.add_task(accounts.mailer.send_logged, mail, "already_registered")
