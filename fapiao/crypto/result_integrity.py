"""Integrity tags on check results: anyone holding the HMAC key can tell a result was not altered
after the worker decided it (in Kafka, in a copy, in an export)."""

from __future__ import annotations

from fapiao.crypto.sm3 import integrity_tag, tag_matches
from schemas.events import CheckResult


def _payload(result: CheckResult) -> bytes:
    return result.model_copy(update={"integrity_tag": ""}).model_dump_json().encode("utf-8")


def tag_result(result: CheckResult, key: bytes) -> CheckResult:
    return result.model_copy(update={"integrity_tag": integrity_tag(key, _payload(result))})


def result_is_intact(result: CheckResult, key: bytes) -> bool:
    return bool(result.integrity_tag) and tag_matches(key, _payload(result), result.integrity_tag)
