from __future__ import annotations

from datetime import UTC, datetime

from fapiao.crypto.result_integrity import result_is_intact, tag_result, tagged_json
from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision
from schemas.events import CheckResult, RiskAssessment, Verdict
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


def test_tagged_json_is_the_tagged_results_json_from_one_serialisation() -> None:
    for result in (_result(), tag_result(_result(), bytes(32))):  # untagged, and tagged under another key
        payload = tagged_json(result, KEY)
        assert payload == tag_result(result, KEY).model_dump_json().encode()
        assert result_is_intact(CheckResult.model_validate_json(payload), KEY)


def test_tagged_json_of_a_result_with_risk_and_enrichment() -> None:
    risky = _result().model_copy(
        update={
            "risk": RiskAssessment(
                score=80, severity="high", reasons=("model_anomaly",), evidence={"integrity_tag": '"x"'}
            ),
            "enrichment": {"region": "北京"},
        }
    )
    payload = tagged_json(risky, KEY)
    assert payload == tag_result(risky, KEY).model_dump_json().encode()
    assert result_is_intact(CheckResult.model_validate_json(payload), KEY)
