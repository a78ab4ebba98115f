"""Emails and ids of people and organisations (pure helpers shared by the use cases)."""

from __future__ import annotations

import re
import secrets
import uuid

from fapiao.accounts.exceptions import InvalidInput

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput("not an email address", "邮箱地址格式不正确")
    return email


def new_user_id() -> str:
    return uuid.uuid4().hex


def new_org_id() -> str:
    """`org-` and 12 hex digits: fits the event schemas' OrgId, never collides with `demo`/`public`."""
    return "org-" + secrets.token_hex(6)
