"""Who is calling: the one place the API decides the caller's organisation, roles and scopes.

Every route that reads or writes organisation data takes `PrincipalDep` and filters by
`principal.org_id`; nothing else decides scoping.

NOTE: authentication is issue #5's work. Until it lands, `current_principal` answers a fixed
anonymous principal of the `public` organisation, so that the intake works end to end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from fastapi import Depends

Role = Literal["submitter", "analyst", "admin"]
Scope = Literal["submit", "read", "alerts"]


@dataclass(frozen=True)
class Principal:
    org_id: str
    subject: str  # user id or API key id
    kind: Literal["user", "api_key", "anonymous"]
    roles: frozenset[Role] = field(default_factory=frozenset)
    scopes: frozenset[Scope] = field(default_factory=frozenset)


ANONYMOUS = Principal(
    org_id="public",
    subject="anonymous",
    kind="anonymous",
    roles=frozenset({"submitter", "analyst"}),
    scopes=frozenset({"submit", "read", "alerts"}),
)


async def current_principal() -> Principal:
    return ANONYMOUS


PrincipalDep = Annotated[Principal, Depends(current_principal)]
