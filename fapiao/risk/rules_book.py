"""Risk rules per organisation (pure): each organisation's versions, and the platform default under them.

An organisation's analysts change only their own rules; an organisation that never published any
scores with the platform default, which only a platform operator publishes (`fapiao risk-rules
publish-default`, needing the broker's operator credentials). Versions are assigned by whoever
publishes (the API, the CLI) as the organisation's last version + 1 and only ever grow, so every
worker ends with the same rules whatever order it read them in; a rollback publishes an older
version's content as a new version.
"""

from __future__ import annotations

from collections import deque

from schemas.events import RiskRules

PLATFORM = ""  # `org_id` of the platform default
HISTORY = 100  # versions kept per organisation for history and rollback


def topic_key(rules: RiskRules) -> str:
    """The message key on `risk.rules`: every version is its own key, so compaction keeps them all."""
    return f"{rules.org_id or '_platform'}:{rules.version}"


class RulesBook:
    """The rules in force for every organisation, and their recent versions."""

    def __init__(self, default: RiskRules) -> None:
        self.default = default
        self._versions: dict[str, deque[RiskRules]] = {}

    def offer(self, rules: RiskRules) -> bool:
        """Take `rules` if newer than what its organisation has; False for an old or repeated version."""
        versions = self._versions.setdefault(rules.org_id, deque(maxlen=HISTORY))
        if versions and rules.version <= versions[-1].version:
            return False
        versions.append(rules)
        return True

    def own(self, org_id: str) -> RiskRules | None:
        """The organisation's own newest rules (None: it inherits the platform default)."""
        versions = self._versions.get(org_id)
        return versions[-1] if versions else None

    def for_org(self, org_id: str) -> RiskRules:
        """The rules that score the organisation's checks."""
        return self.own(org_id) or self.own(PLATFORM) or self.default

    def history(self, org_id: str) -> list[RiskRules]:
        """The organisation's own versions, newest first."""
        return list(reversed(self._versions.get(org_id, ())))

    def version(self, org_id: str, version: int) -> RiskRules | None:
        return next((r for r in self._versions.get(org_id, ()) if r.version == version), None)

    def next_version(self, org_id: str) -> int:
        own = self.own(org_id)
        return own.version + 1 if own is not None else 1
