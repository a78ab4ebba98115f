"""The batched agents' shared step (`streams.batch_events.step_over_batch`): entries read and written
once per batch, and one bad event in a batch dead-lettered alone (unreadable or poison), the others
processed; an infrastructure error crashes."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, NoReturn

import pytest

from fapiao.domain import steps
from schemas.events import DeadLetter
from streams.batch_events import Index, step_over_batch
from streams.dead_letters import Unreadable
from streams.error_policy import StagePolicy


class Crashed(Exception):
    pass


class FakeTopic:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(self, key: bytes | None, value: bytes) -> None:
        self.sent.append(value)


class FakeTable(dict[str, Any]):
    """Counts reads and writes."""

    def __init__(self, **entries: Any) -> None:
        super().__init__(entries)
        self.reads: list[str] = []
        self.writes: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.reads.append(key)
        return super().get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes.append(key)
        super().__setitem__(key, value)


class Event:
    """An event as the agents see it (weak-referenceable, like faust's)."""

    def __init__(self, offset: int, value: bytes) -> None:
        self.message = SimpleNamespace(topic="t", partition=0, offset=offset, key=b"k", value=value)


def _policy() -> tuple[StagePolicy, FakeTopic]:
    dlq = FakeTopic()

    def on_crash(stage: str, exc: BaseException) -> NoReturn:
        raise Crashed(stage)

    pipeline: Any = SimpleNamespace(topics={"checks.dlq": dlq}, settings=None)
    return StagePolicy(pipeline, "verify", on_crash=on_crash), dlq


def parse(event: Any) -> tuple[str, int]:
    """`<key>:<amount>`; anything else is unreadable."""
    key, _, amount = event.message.value.decode().partition(":")
    if not amount:
        raise Unreadable("no amount")
    return key, int(amount)


def add(entries: Mapping[str, Any], amounts: list[int], keys: list[str]) -> steps.Outcome:
    """Adds each amount to its key's entry; a negative amount is a bug (raises); 99 a broken disk."""
    out = steps.Outcome()
    current = dict(entries)
    for key, amount in zip(keys, amounts, strict=True):
        if amount < 0:
            raise ValueError("negative amount")
        if amount == 99:
            raise OSError("disk gone")
        current[key] = out.entries[key] = (current.get(key) or 0) + amount
    return out


def events(*values: str) -> list[Any]:
    return [Event(i, v.encode()) for i, v in enumerate(values)]


async def test_each_entry_is_read_once_and_written_once_per_batch() -> None:
    policy, dlq = _policy()
    table = FakeTable(a=10)
    batch = events("a:1", "b:2", "a:3")
    out = await step_over_batch(
        policy, table, batch, parse, lambda entries, amounts: add(entries, amounts, ["a", "b", "a"])
    )  # type: ignore[arg-type]
    assert out.entries == {"a": 14, "b": 2}
    assert sorted(table.reads) == ["a", "b"] and sorted(table.writes) == ["a", "b"]
    assert dict(table) == {"a": 14, "b": 2} and dlq.sent == []


async def test_an_unreadable_event_is_dead_lettered_alone() -> None:
    policy, dlq = _policy()
    table = FakeTable()
    out = await step_over_batch(
        policy,
        table,
        events("a:1", "garbage", "b:2"),
        parse,
        lambda e, v: add(e, v, ["a", "b"]),  # type: ignore[arg-type]
    )
    assert out.entries == {"a": 1, "b": 2}
    (letter,) = [DeadLetter.model_validate_json(v) for v in dlq.sent]
    assert letter.kind == "unreadable" and letter.offset == 1


async def test_a_poison_event_fails_the_batch_step_and_is_dead_lettered_alone() -> None:
    policy, dlq = _policy()
    table = FakeTable(a=10)

    def step(entries: Mapping[str, Any], amounts: list[int]) -> steps.Outcome:
        # per event (the retry) each call gets one entry: its key is the entry's
        return add(entries, amounts, ["a", "b", "a"] if len(amounts) == 3 else list(entries))

    out = await step_over_batch(policy, table, events("a:1", "b:-5", "a:3"), parse, step)  # type: ignore[arg-type]
    assert out.entries == {"a": 14}  # both of a's events, threaded through the retry
    assert table["a"] == 14 and "b" not in table and table.writes == ["a"]
    (letter,) = [DeadLetter.model_validate_json(v) for v in dlq.sent]
    assert letter.kind == "exception" and letter.offset == 1 and "negative amount" in letter.error


async def test_an_infrastructure_error_of_the_batch_step_crashes_before_anything_is_written() -> None:
    policy, dlq = _policy()
    table = FakeTable()
    with pytest.raises(Crashed):
        await step_over_batch(policy, table, events("a:1", "b:99"), parse, lambda e, v: add(e, v, ["a", "b"]))  # type: ignore[arg-type]
    assert table.writes == [] and dlq.sent == []


async def test_an_index_is_written_from_the_changed_entries_in_the_same_batch() -> None:
    policy, _ = _policy()
    table, index = FakeTable(a=10, b=3), FakeTable(b="odd")

    def odd_ones(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
        """The index keeps 'odd' for odd entries and drops even ones (None), written only on a change."""
        changes = {}
        for key, value in after.items():
            now, was = value % 2 == 1, (before.get(key) or 0) % 2 == 1
            if now != was:
                changes[key] = "odd" if now else None
        return changes

    out = await step_over_batch(
        policy,
        table,
        events("a:1", "b:1"),
        parse,
        lambda e, v: add(e, v, ["a", "b"]),
        index=Index(index, odd_ones),
    )  # type: ignore[arg-type]
    assert out.entries == {"a": 11, "b": 4}
    assert dict(index) == {"a": "odd"} and index.writes == ["a"]  # b left the index, a joined it
