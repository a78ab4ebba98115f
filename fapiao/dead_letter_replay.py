"""Dead letters for operators (pure): which letters a filter selects, and which of them a replay sends.

`fapiao dlq list|show|replay` read `checks.dlq` whole; a replay publishes each selected letter's original
key and value to its source topic (so it goes through the normal path again, after a fix) and records
it on `checks.dlq.replays`, so a second replay skips it unless asked `--again`. The pipeline is
idempotent for a replayed message anyway (a check id is answered once, result rows collapse)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.events import DeadLetter


@dataclass(frozen=True)
class Letter:
    """A dead letter and where it sits on `checks.dlq`."""

    partition: int
    offset: int
    letter: DeadLetter

    @property
    def ref(self) -> str:
        """`<partition>:<offset>`: how `fapiao dlq show` names it, and its key on `checks.dlq.replays`."""
        return f"{self.partition}:{self.offset}"


@dataclass(frozen=True)
class LetterFilter:
    stage: str | None = None
    kind: str | None = None
    error: str | None = None  # a substring of the error, case-insensitive
    source_topic: str | None = None  # the base name, e.g. checks.requested
    since: datetime | None = None

    def keeps(self, item: Letter, prefix: str = "") -> bool:
        letter = item.letter
        return (
            (self.stage is None or letter.stage == self.stage)
            and (self.kind is None or letter.kind == self.kind)
            and (self.error is None or self.error.lower() in letter.error.lower())
            and (self.source_topic is None or letter.source_topic == f"{prefix}{self.source_topic}")
            and (self.since is None or letter.failed_at >= self.since)
        )


def parse_ref(text: str) -> tuple[int, int]:
    """`3:1207` -> (3, 1207); ValueError naming the expected form otherwise."""
    partition, sep, offset = text.partition(":")
    if not sep or not partition.isdigit() or not offset.isdigit():
        raise ValueError(f"a dead letter is named <partition>:<offset>, e.g. 0:42 (got {text!r})")
    return int(partition), int(offset)


def to_replay(
    letters: list[Letter], wanted: LetterFilter, replayed: set[str], *, again: bool, prefix: str = ""
) -> list[Letter]:
    """The letters a replay publishes: those the filter keeps, not replayed before (unless `again`),
    and that have a payload to send; in the order they were dead-lettered."""
    return [
        item
        for item in letters
        if wanted.keeps(item, prefix) and (again or item.ref not in replayed) and item.letter.payload
    ]
