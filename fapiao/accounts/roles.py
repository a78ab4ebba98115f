"""Roles and scopes, and who may do what (pure).

Users act through a role in one organisation; API keys act through scopes. A role grants scopes
(submitters submit and read their verdicts, analysts read and follow alerts, admins do everything),
and a higher role includes the lower ones where a route asks for a role.
"""

from __future__ import annotations

from dataclasses import dataclass

from fapiao.accounts.models import ROLES, SCOPES

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "submitter": frozenset({"submit", "read"}),
    "analyst": frozenset({"read", "alerts"}),
    "admin": frozenset(SCOPES),
}
ROLE_INCLUDES: dict[str, frozenset[str]] = {
    "submitter": frozenset({"submitter"}),
    "analyst": frozenset({"analyst"}),
    "admin": frozenset(ROLES),
}


@dataclass(frozen=True)
class Identity:
    """An authenticated caller, as the accounts store knows it (the API turns it into a Principal)."""

    org_id: str
    subject: str  # user id or API key id
    kind: str  # "user" | "api_key"
    roles: frozenset[str]
    scopes: frozenset[str]
    rate_per_minute: int | None = None


def user_identity(org_id: str, user_id: str, role: str) -> Identity:
    return Identity(org_id, user_id, "user", ROLE_INCLUDES[role], ROLE_SCOPES[role])


def parse_scopes(text: str) -> frozenset[str]:
    return frozenset(s for s in text.split(",") if s in SCOPES)
