from __future__ import annotations

from datetime import UTC, datetime

from fapiao.crypto.result_integrity import result_is_intact, tag_result
from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision
from schemas.events import CheckResult, Verdict
from tests.factories import check_of, issued

KEY = bytes(range(32))


def _result() -> CheckResult:
    request = check_of(issued())
    return build_result(
        request, Decision(Verdict.NOT_FOUND), decided_at=datetime(2026, 11, 25, tzinfo=UTC), check_count=1
    )


def test_a_tagged_result_verifies_and_survives_the_wire() -> None:
    tagged = tag_result(_result(), KEY)
    assert len(tagged.integrity_tag) == 64
    assert result_is_intact(tagged, KEY)
    assert result_is_intact(CheckResult.model_validate_json(tagged.model_dump_json()), KEY)


def test_any_change_or_another_key_breaks_the_tag() -> None:
    tagged = tag_result(_result(), KEY)
    assert not result_is_intact(tagged.model_copy(update={"verdict": Verdict.CONSISTENT}), KEY)
    assert not result_is_intact(tagged, bytes(32))
    assert not result_is_intact(_result(), KEY)  # untagged
