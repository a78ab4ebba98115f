"""Checks submitted over Kafka by an organisation's own system: whose they are comes from the broker's
authentication, never from the payload (issue 16: anyone able to write `checks.requested` set any
`org_id` and read that organisation's results through the API).

Kafka does not stamp a record with its producer's principal, so the ACL carries the identity: each
enterprise principal may write only its own intake topic `checks.intake.<principal>` (fapiao.kafka_acls),
and only `api`, `demo` and the worker may write `checks.requested`. The worker's forwarder
(streams/intake_forwarder.py) reads every intake topic and re-publishes each check onto
`checks.requested` with the organisation mapped to that topic's principal, whatever `org_id` the
payload claims. The map is `FAPIAO_KAFKA_INTAKE=principal=org_id,…` (Settings.kafka_intake).
"""

from __future__ import annotations

import re

from fapiao.topics import TopicSpec
from schemas.events import CheckRequested

INTAKE_PREFIX = "checks.intake."
_PRINCIPAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ORG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
RESERVED = frozenset({"admin", "api", "worker", "analyst", "demo", "ops"})  # services, not tenants


class IntakeMapInvalid(ValueError):
    """FAPIAO_KAFKA_INTAKE cannot be read; the text says which entry."""


def parse_intake_map(text: str) -> dict[str, str]:
    """`principal=org_id,…` -> {principal: org_id}; an empty text is no intake at all."""
    out: dict[str, str] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        principal, sep, org_id = (part.strip() for part in entry.partition("="))
        if not sep or not _PRINCIPAL.match(principal) or not _ORG.match(org_id):
            raise IntakeMapInvalid(f"FAPIAO_KAFKA_INTAKE: {entry!r} is not principal=org_id")
        if principal in RESERVED:
            raise IntakeMapInvalid(f"FAPIAO_KAFKA_INTAKE: {principal!r} is a service principal")
        if principal in out:
            raise IntakeMapInvalid(f"FAPIAO_KAFKA_INTAKE: {principal!r} appears twice")
        out[principal] = org_id
    return out


def intake_topic(principal: str) -> str:
    """The logical name of a principal's intake topic (prefix it with Settings.topic)."""
    return f"{INTAKE_PREFIX}{principal}"


def intake_specs(intake_map: str) -> list[TopicSpec]:
    """The intake topics of FAPIAO_KAFKA_INTAKE, as `fapiao kafka init` creates them."""
    return [
        TopicSpec(intake_topic(p), "invoice key", CheckRequested, f"Checks of {org}'s system `{p}`.")
        for p, org in parse_intake_map(intake_map).items()
    ]


def principal_of(topic: str, prefix: str) -> str | None:
    """Whose intake topic `topic` (a real, prefixed name) is, or None when it is not one."""
    base = topic.removeprefix(prefix) if prefix else topic
    if base == topic and prefix:
        return None
    return base.removeprefix(INTAKE_PREFIX) if base.startswith(INTAKE_PREFIX) else None


def forwarded(request: CheckRequested, org_id: str) -> CheckRequested:
    """The check as the pipeline takes it: the organisation is the topic owner's, whatever the payload
    said (a mismatch is kept nowhere: the producer may not choose)."""
    return request.model_copy(update={"org_id": org_id})
