"""The worker's error policy (streams/error_policy.py): unreadable and poison events are dead-lettered
with their reason and the stream goes on; infrastructure errors crash the process; the sink isolates
rows ClickHouse refuses (fapiao/warehouse/insert_errors.py); messages on the wrong partition are refused."""

from __future__ import annotations

import struct
from types import SimpleNamespace
from typing import Any, NoReturn

import pytest
from aiokafka.errors import KafkaConnectionError
from clickhouse_driver import errors as ch_errors

from fapiao.warehouse.insert_errors import error_text, insert_isolating, is_permanent
from schemas.events import DeadLetter
from streams.dead_letters import Unreadable, key_partition, require_key
from streams.error_policy import StagePolicy, is_infrastructure


class Sent(Exception):
    pass


class FakeTopic:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes]] = []

    async def send(self, key: bytes | None, value: bytes) -> None:
        self.sent.append((key, value))


def _event(topic: str = "checks.requested", partition: int = 0, key: bytes | None = b"k") -> Any:
    return SimpleNamespace(
        message=SimpleNamespace(topic=topic, partition=partition, offset=7, key=key, value=b"{}")
    )


def _policy() -> tuple[StagePolicy, FakeTopic, list[BaseException]]:
    dlq = FakeTopic()
    crashes: list[BaseException] = []

    def on_crash(stage: str, exc: BaseException) -> NoReturn:
        crashes.append(exc)
        raise Sent(stage)

    pipeline: Any = SimpleNamespace(topics={"checks.dlq": dlq})
    return StagePolicy(pipeline, "verify", on_crash=on_crash), dlq, crashes


def _letters(dlq: FakeTopic) -> list[DeadLetter]:
    return [DeadLetter.model_validate_json(value) for _, value in dlq.sent]


async def test_a_handler_that_succeeds_returns_its_value_sync_or_async() -> None:
    policy, dlq, _ = _policy()

    async def handler() -> int:
        return 3

    assert await policy.run(_event(), handler) == 3
    assert await policy.run(_event(), lambda: 4) == 4
    assert dlq.sent == []


async def test_unreadable_goes_to_the_dlq_with_its_reason() -> None:
    policy, dlq, crashes = _policy()

    def handler() -> None:
        raise Unreadable("CheckRequested schema violation: batch_row: too big")

    assert await policy.run(_event(), handler) is None
    (letter,) = _letters(dlq)
    assert letter.kind == "unreadable" and "batch_row" in letter.error and letter.stage == "verify"
    assert (letter.source_topic, letter.partition, letter.offset, letter.key) == (
        "checks.requested",
        0,
        7,
        "k",
    )
    assert crashes == []


async def test_any_other_exception_is_a_poison_pill_with_its_stack_and_the_stream_goes_on() -> None:
    policy, dlq, crashes = _policy()

    def handler() -> None:
        raise OverflowError("date value out of range")

    assert await policy.run(_event(), handler) is None
    assert await policy.run(_event(), lambda: "next") == "next"  # the next event is processed
    (letter,) = _letters(dlq)
    assert letter.kind == "exception" and letter.error == "OverflowError: date value out of range"
    assert "Traceback" in letter.stack and "handler" in letter.stack
    assert crashes == []


@pytest.mark.parametrize(
    "exc", [KafkaConnectionError("broker gone"), OSError(28, "No space left on device"), MemoryError()]
)
async def test_infrastructure_errors_crash_and_dead_letter_nothing(exc: BaseException) -> None:
    policy, dlq, crashes = _policy()

    def handler() -> None:
        raise exc

    with pytest.raises(Sent):
        await policy.run(_event(), handler)
    assert crashes == [exc] and dlq.sent == []


def test_infrastructure_is_told_from_bugs() -> None:
    assert is_infrastructure(KafkaConnectionError()) and is_infrastructure(FileNotFoundError("rocksdb"))
    assert not is_infrastructure(ValueError("x")) and not is_infrastructure(KeyError("x"))


def test_a_batch_step_failure_crashes_only_for_infrastructure() -> None:
    policy, _, crashes = _policy()
    policy.check_batch_error(ValueError("one bad row"))  # the caller retries per event
    assert crashes == []
    with pytest.raises(Sent):
        policy.check_batch_error(OSError("disk"))


def test_messages_must_be_on_their_keys_partition() -> None:
    key = "011002300111-12345678"
    right = key_partition(key, 8)
    require_key(_event(partition=right, key=key.encode()), key, 8)
    wrong = (right + 1) % 8
    with pytest.raises(Unreadable, match=f"partition {wrong}.*belongs on partition {right} of 8"):
        require_key(_event(partition=wrong, key=key.encode()), key, 8)
    with pytest.raises(Unreadable, match="must be the invoice key"):
        require_key(_event(partition=right, key=b"other"), key, 8)


def test_key_partition_is_kafkas_murmur2() -> None:
    # values from the Java client's Utils.murmur2 (org.apache.kafka.common.utils), toPositive(...) % n
    assert key_partition("21", 1000) == (-973932308 & 0x7FFFFFFF) % 1000
    assert key_partition("foobar", 7) == (-790332482 & 0x7FFFFFFF) % 7


# ---- the sink: which insert errors are the rows' fault, and isolating those rows


def _type_mismatch() -> ch_errors.TypeMismatchError:
    return ch_errors.TypeMismatchError("Column batch_row: 'I' format requires 0 <= number <= 4294967295")


def test_value_errors_are_permanent_and_server_or_schema_errors_transient() -> None:
    assert is_permanent(_type_mismatch())
    assert is_permanent(ch_errors.ServerException("Cannot parse datetime", code=41))
    assert is_permanent(struct.error("argument out of range"))
    assert not is_permanent(ch_errors.NetworkError("connection refused"))
    assert not is_permanent(ch_errors.SocketTimeoutError("timeout"))
    assert not is_permanent(ch_errors.ServerException("Too many parts", code=252))
    assert not is_permanent(ch_errors.ServerException("Table fapiao.check_results doesn't exist", code=60))
    assert not is_permanent(ch_errors.ServerException("No such column", code=16))
    assert not is_permanent(ConnectionRefusedError())


def test_error_text_is_one_bounded_line() -> None:
    text = error_text(ch_errors.ServerException("line one\nline two " + "x" * 5000, code=41))
    assert "\n" not in text and len(text) <= 1500 and text.startswith("ServerException")


def _inserter(bad: set[int], calls: list[list[int]]) -> Any:
    stored: list[int] = []

    def insert(rows: list[int]) -> None:
        calls.append(list(rows))
        if bad & set(rows):
            raise _type_mismatch()
        stored.extend(rows)

    insert.stored = stored  # type: ignore[attr-defined]
    return insert


@pytest.mark.parametrize("bad", [set(), {0}, {9}, {3, 4}, {0, 5, 9}, set(range(10))])
def test_insert_isolating_stores_every_good_row_and_returns_each_bad_one(bad: set[int]) -> None:
    calls: list[list[int]] = []
    insert = _inserter(bad, calls)
    refused = insert_isolating(insert, list(range(10)))
    assert sorted(i for i, _ in refused) == sorted(bad)
    assert sorted(insert.stored) == sorted(set(range(10)) - bad)
    assert all("TypeMismatchError" in error for _, error in refused)
    if not bad:
        assert calls == [list(range(10))]  # a clean batch costs one insert


def test_one_bad_row_in_a_large_batch_costs_a_logarithmic_number_of_inserts() -> None:
    calls: list[list[int]] = []
    insert_isolating(_inserter({777}, calls), list(range(2000)))
    assert len(calls) <= 2 * 11 + 1


def test_a_transient_error_propagates_for_the_caller_to_retry() -> None:
    def insert(rows: list[int]) -> None:
        raise ch_errors.NetworkError("Connection refused (127.0.0.1:9000)")

    with pytest.raises(ch_errors.NetworkError):
        insert_isolating(insert, [1, 2, 3])
    assert insert_isolating(insert, []) == []


def test_a_full_disk_is_told_apart_in_the_crash_log() -> None:
    import errno

    from streams.error_policy import disk_full

    assert disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert disk_full(OSError(errno.EFBIG, "File too large"))
    assert disk_full(Exception("IO error: While appending to file: /data/000012.log: File too large"))
    assert not disk_full(OSError(errno.ECONNREFUSED, "Connection refused"))
    assert not disk_full(ValueError("negative amount"))
