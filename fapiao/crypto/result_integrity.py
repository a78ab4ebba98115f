"""Integrity tags on check results: anyone holding the HMAC key can tell a result was not altered
after the worker decided it (in Kafka, in a copy, in an export)."""

from __future__ import annotations

from fapiao.crypto.sm3 import integrity_tag, tag_matches
from schemas.events import CheckResult

# integrity_tag is CheckResult's last field, so its untagged JSON ends with this
_UNTAGGED_END = b',"integrity_tag":""}'


def _payload(result: CheckResult) -> bytes:
    return result.model_copy(update={"integrity_tag": ""}).model_dump_json().encode("utf-8")


def tag_result(result: CheckResult, key: bytes) -> CheckResult:
    return result.model_copy(update={"integrity_tag": integrity_tag(key, _payload(result))})


def tagged_json(result: CheckResult, key: bytes) -> bytes:
    """The JSON of `tag_result(result, key)`, byte for byte, from one serialisation: the tagged payload
    is the untagged one with the tag put into its (last, empty) integrity_tag field."""
    return tagged(result, key)[1]


def tagged(result: CheckResult, key: bytes) -> tuple[CheckResult, bytes]:
    """`tag_result(result, key)` and its JSON (as `tagged_json`), from one serialisation."""
    payload = _payload(result) if result.integrity_tag else result.model_dump_json().encode("utf-8")
    if not payload.endswith(_UNTAGGED_END):  # the field moved: serialise the tagged result instead
        out = tag_result(result, key)
        return out, out.model_dump_json().encode("utf-8")
    tag = integrity_tag(key, payload)
    encoded = payload[: -len(_UNTAGGED_END)] + b',"integrity_tag":"' + tag.encode("ascii") + b'"}'
    return result.model_copy(update={"integrity_tag": tag}), encoded


def result_is_intact(result: CheckResult, key: bytes) -> bool:
    return bool(result.integrity_tag) and tag_matches(key, _payload(result), result.integrity_tag)
