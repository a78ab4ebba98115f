"""The demo organisation of `make run`: id `demo` (the demo feed's checks belong to it), an admin and an
API key. Idempotent: credentials are kept in a 0600 JSON file and re-used while they still work."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from sqlalchemy import select

from fapiao.accounts import api_keys, orgs
from fapiao.accounts.context import AccountsContext
from fapiao.accounts.exceptions import TokenInvalid
from fapiao.accounts.models import Organisation, User

DEMO_ORG_ID = "demo"
DEMO_ORG_NAME = "演示企业 Demo Trading Co."
DEMO_EMAIL = "admin@demo.fapiao.example"


def demo_password() -> str:
    """Random and policy-compliant (upper, lower, digit, symbol, long)."""
    return f"Demo-{secrets.token_urlsafe(12)}-7a!"


def bootstrap_demo(ctx: AccountsContext, credentials: Path) -> dict[str, str]:
    """Ensure the demo org, admin and a working API key exist; returns (and stores) their credentials."""
    saved: dict[str, str] = json.loads(credentials.read_text()) if credentials.exists() else {}
    with ctx.sessions() as s:
        org_exists = s.get(Organisation, DEMO_ORG_ID) is not None
        admin = s.scalar(select(User).where(User.email == DEMO_EMAIL))
    if not org_exists:
        saved["password"] = demo_password()
        _, admin_id = orgs.register(
            ctx, DEMO_ORG_NAME, DEMO_EMAIL, saved["password"], "Demo admin", DEMO_ORG_ID
        )
        saved.pop("api_key", None)
    else:
        admin_id = admin.id if admin else "system"
    saved.update(org_id=DEMO_ORG_ID, email=DEMO_EMAIL)
    try:
        if "api_key" not in saved:
            raise TokenInvalid()
        api_keys.authenticate(ctx, saved["api_key"])
    except TokenInvalid:
        _, saved["api_key"] = api_keys.create(
            ctx, DEMO_ORG_ID, admin_id, "demo (make run)", ["submit", "read", "alerts"]
        )
    credentials.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(saved, out, indent=2)
    return saved
