"""Risk rules per organisation (fapiao/risk/rules_book.py): one organisation's change never reaches
another, the platform default applies only where an organisation has none, versions only grow, and the
schema refuses what storage cannot hold."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fapiao.risk.rules import DEFAULT_RULES
from fapiao.risk.rules_book import PLATFORM, RulesBook, topic_key
from schemas.events import RiskRules


def _rules(org: str, version: int, threshold: int = 60) -> RiskRules:
    return DEFAULT_RULES.model_copy(update={"org_id": org, "version": version, "alert_threshold": threshold})


def test_each_organisation_scores_with_its_own_rules_else_the_platform_default() -> None:
    book = RulesBook(DEFAULT_RULES)
    assert book.for_org("a") is DEFAULT_RULES and book.next_version("a") == 1
    assert book.offer(_rules("a", 1, threshold=95))
    assert book.for_org("a").alert_threshold == 95
    assert book.for_org("b") is DEFAULT_RULES  # A's change never reaches B
    assert book.offer(_rules(PLATFORM, 1, threshold=40))
    assert book.for_org("b").alert_threshold == 40 and book.for_org("a").alert_threshold == 95
    assert book.own("b") is None and book.own("a") is not None


def test_versions_only_grow_per_organisation_in_any_reading_order() -> None:
    book = RulesBook(DEFAULT_RULES)
    assert book.offer(_rules("a", 3, 70))
    assert not book.offer(_rules("a", 2, 10))  # an older version read late changes nothing
    assert not book.offer(_rules("a", 3, 10))  # nor a repeat
    assert book.offer(_rules("b", 1, 20))  # other organisations count on their own
    assert book.for_org("a").alert_threshold == 70 and book.next_version("a") == 4
    assert [r.version for r in book.history("a")] == [3]
    assert book.offer(_rules("a", 4, 80))
    assert [r.version for r in book.history("a")] == [4, 3]
    assert book.version("a", 3) is not None and book.version("a", 99) is None


def test_every_version_has_its_own_key_so_compaction_keeps_the_history() -> None:
    assert topic_key(_rules("acme", 7)) == "acme:7"
    assert topic_key(_rules(PLATFORM, 2)) == "_platform:2"


@pytest.mark.parametrize(
    "bad",
    [
        {"version": 10**15},  # the UInt32 rule_version column (the sink failed every insert on it)
        {"version": 0},
        {"alert_window_seconds": 10**15},
        {"weights": {"not_found": 101}},
        {"weights": {"Bad Name": 5}},
        {"params": {"amount_z": float("inf")}},
        {"org_id": "no spaces allowed"},
    ],
)
def test_the_schema_refuses_what_storage_or_scoring_cannot_hold(bad: dict[str, object]) -> None:
    payload = DEFAULT_RULES.model_dump() | bad
    with pytest.raises(ValidationError):
        RiskRules.model_validate(payload)
