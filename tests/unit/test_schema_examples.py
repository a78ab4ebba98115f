"""Every topic has example payloads in schemas/examples/<topic>/<version>/, and each validates.

The examples are the contract for producers in other languages (docs/events.md points at them).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fapiao import topics

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
ALL_EXAMPLES = sorted(EXAMPLES.glob("*/*/*.json"))


def test_every_topic_has_an_example_and_no_example_lacks_a_topic() -> None:
    with_examples = {path.parts[-3] for path in ALL_EXAMPLES}
    assert with_examples == {spec.name for spec in topics.ALL}


@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_example_validates_and_round_trips(path: Path) -> None:
    spec = topics.BY_NAME[path.parts[-3]]
    payload = json.loads(path.read_text("utf-8"))
    assert payload["schema_version"] == int(path.parts[-2])
    event = spec.schema.model_validate_json(path.read_bytes())
    assert json.loads(event.model_dump_json()) == payload


def test_unknown_fields_are_refused() -> None:
    path = next(p for p in ALL_EXAMPLES if p.parts[-3] == "checks.requested")
    payload = json.loads(path.read_text("utf-8")) | {"surprise": 1}
    with pytest.raises(ValueError, match="surprise"):
        topics.CHECKS_REQUESTED.schema.model_validate(payload)


def test_committed_json_schemas_are_up_to_date() -> None:
    from schemas.export import JSONSCHEMA_DIR, rendered

    for name, text in rendered().items():
        path = JSONSCHEMA_DIR / name
        assert path.exists() and path.read_text("utf-8") == text, f"run `python -m schemas.export` ({name})"
