"""Which user ids an answer may carry (issue 16, item 4): a user id is half of a forged session (the
subject of a session token), so answers to API keys never carry one.

Where an answer names a member — who is assigned a case, who changed it or commented, who last changed
the risk rules, who submitted a check or a batch — an API key sees the member's reference instead:
`member-` and 12 hex digits of HMAC-SM3 over the id with the platform's HMAC key. The same member has
the same reference everywhere (an integration can still group by it, or tell assigned from unassigned),
and it opens no session and is taken by no route. The organisation's users see ids (they choose
assignees by them). Saved reports show keys no author at all (`ReportDefinitionOut`, as before).

Checks submitted by a user carry the member's reference as their requester (the web app's checks and a
user's batches), never the id: a requester is shown to every reader of the organisation's history.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from fapiao.crypto.sm3 import hmac_sm3
from services.api.principal import Principal, accounts_of

MEMBER_PREFIX = "member-"

ShownPeople = Callable[[str | None], str | None]


def member_ref(user_id: str, key: bytes) -> str:
    """The reference of a member shown where its id may not be: stable per id and key, not reversible."""
    return MEMBER_PREFIX + hmac_sm3(key, b"member\x00" + user_id.encode("utf-8")).hex()[:12]


def people_for(principal: Principal, key: bytes) -> ShownPeople:
    """How `principal` sees the members an answer names: ids for the organisation's users, references
    for everybody else (API keys). Empty values (nobody) stay as they are."""
    if principal.kind == "user":
        return lambda user_id: user_id

    def shown(user_id: str | None) -> str | None:
        return member_ref(user_id, key) if user_id else user_id

    return shown


def shown_people(request: Request, principal: Principal) -> ShownPeople:
    """`people_for` with the API's HMAC key."""
    return people_for(principal, accounts_of(request).ctx.keys.hmac_key)


def requester_of(request: Request, principal: Principal) -> str:
    """The requester label of checks `principal` submits without naming one: a user's member reference
    (never the id), a key's own id."""
    if principal.kind == "user":
        return member_ref(principal.subject, accounts_of(request).ctx.keys.hmac_key)
    return principal.subject
