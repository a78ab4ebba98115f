"""Where each check of a chaos run ended, and the verdict: pure functions of what the run read back.

A check that was requested but neither stored (ClickHouse, FINAL) nor dead-lettered is *lost* in the
issue's sense. To tell why, each such check is followed along the pipeline's topics (checks.requested →
checks.verified → checks.results → stored): the furthest topic it reached, at which partition and
offset, against the committed offset of the group that consumes that topic there:

- offset ≥ committed: the consumer has not gone past it yet — **stuck** (a stalled partition, it may
  still be answered);
- offset < committed: the group committed past it and nothing of it came out the other side —
  **dropped** (the loss the issue is about: faust acknowledged a record it never processed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Stage:
    """A topic of the pipeline and the consumer group whose committed offsets say what was taken."""

    topic: str
    group: str


@dataclass(frozen=True)
class Seen:
    """The last copy of a check on a topic (redeliveries put several there)."""

    partition: int
    offset: int


@dataclass(frozen=True)
class Fate:
    check_id: str
    topic: str  # the furthest topic it reached
    partition: int
    offset: int
    committed: int  # the consuming group's committed offset there (-1: nothing committed)
    end: int  # that partition's end offset
    dropped: bool  # committed past it (else stuck before it)

    def describe(self) -> str:
        where = f"{self.topic}[{self.partition}] @ {self.offset}"
        if self.dropped:
            return f"{self.check_id}: DROPPED after {where}: committed {self.committed} > its offset"
        return f"{self.check_id}: STUCK at {where}: committed {self.committed} ≤ its offset < end {self.end}"


def fates(
    missing: Iterable[str],
    stages: Sequence[Stage],
    seen: Mapping[str, Mapping[str, Seen]],
    committed: Mapping[tuple[str, int], int],
    ends: Mapping[tuple[str, int], int],
) -> list[Fate]:
    """For each check in `missing` (requested, not stored, not dead-lettered): its furthest stage.

    `seen[topic][check_id]`: where the check's last copy is on that topic; `committed[(topic, p)]`:
    the offset the stage's group committed there (the next one it will read); `ends[(topic, p)]`."""
    out = []
    for check_id in sorted(missing):
        for stage in reversed(stages):
            where = seen.get(stage.topic, {}).get(check_id)
            if where is None:
                continue
            key = (stage.topic, where.partition)
            done = committed.get(key, -1)
            out.append(
                Fate(
                    check_id,
                    stage.topic,
                    where.partition,
                    where.offset,
                    done,
                    ends.get(key, -1),
                    dropped=done > where.offset,
                )
            )
            break
        else:  # never even requested (cannot happen: the run wrote it); say so rather than hide it
            out.append(Fate(check_id, "(nowhere)", -1, -1, -1, -1, dropped=True))
    return out


def where_stopped(found: Iterable[Fate], prefix: str = "") -> dict[str, int]:
    """How many checks stopped where: 'stuck at <topic>[p]' / 'dropped after <topic>[p]' -> count
    (topic names without the run's `prefix`)."""
    out: dict[str, int] = {}
    for f in found:
        state = "dropped after" if f.dropped else "stuck at"
        where = f"{state} {f.topic.removeprefix(prefix)}[{f.partition}]"
        out[where] = out.get(where, 0) + 1
    return out


def numbering_gaps(counts: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """Invoices whose 第N次查验 numbers (check_count > 0 of their stored checks) are not 1..n."""
    bad = {}
    for key, numbers in counts.items():
        ordered = sorted(numbers)
        if ordered != list(range(1, len(ordered) + 1)):
            bad[key] = ordered
    return bad


def recounted(results: Iterable[tuple[str, int, bool]]) -> dict[str, list[int]]:
    """Checks that got more than one 第N次 number in their first (not follow-up) results on
    checks.results — (check id, check_count, follow_up) per record: a redelivery counted again
    instead of answered from the remembered check. A redone check with the same number is fine."""
    numbers: dict[str, set[int]] = {}
    for check_id, count, follow_up in results:
        if not follow_up:
            numbers.setdefault(check_id, set()).add(count)
    return {c: sorted(n) for c, n in numbers.items() if len(n) > 1}


@dataclass
class Cycle:
    """One kill -9 of one of the workers."""

    victim: str
    owned: tuple[int, ...]  # its partitions of checks.requested at the kill
    outstanding: int  # checks requested and not yet answered at the kill
    failover: float | None = None  # kill → every owned partition answered a probe sent after it
    all_partitions: float | None = None  # kill → every partition did
    resumed: float | None = None  # kill → each owned partition had a result decided after the kill
    survivor_joined: float | None = None  # kill → the other worker joined the next generation (its log)
    survivor_ready: float | None = None  # kill → its streams resumed after that (tables recovered)
    ready: float | None = None  # restart → "Worker ready"
    rejoined: float | None = None  # restart → both workers assigned in a stable group
    note: str = ""  # what went wrong around this kill (the group not stable …)
    killed_at: float = 0.0  # epoch s of the kill


@dataclass
class Outcome:
    """What a two-worker kill run counted at its end."""

    requested: int
    stored: int
    dead_letters: int
    unanswered: int  # no result on checks.results
    extra_rows: int  # rows through FINAL beyond one per check
    numbering_gaps: int  # invoices whose 第N次 numbers are not 1..n
    cycles: list[Cycle] = field(default_factory=list)
    fates: list[Fate] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.requested - self.stored - self.dead_letters

    @property
    def double_counted(self) -> int:
        return self.extra_rows + self.numbering_gaps


def verdict(outcome: Outcome, cycles_wanted: int, failover_limit: float) -> tuple[bool, str]:
    """The issue's targets, exactly: every cycle ran and failed over within the limit, nothing lost
    (requested = stored + dead letters), nothing double-counted."""
    failures = []
    ran = len(outcome.cycles)
    if ran < cycles_wanted:
        failures.append(f"{ran}/{cycles_wanted} cycles ran")
    slow = [
        f"#{n}: {'never' if c.failover is None else f'{c.failover:.2f} s'}"
        for n, c in enumerate(outcome.cycles, 1)
        if c.failover is None or c.failover > failover_limit
    ]
    if slow:
        failures.append(f"failover > {failover_limit:.0f} s in {len(slow)} cycles ({', '.join(slow)})")
    if outcome.lost:
        dropped = sum(f.dropped for f in outcome.fates)
        failures.append(f"{outcome.lost} lost ({dropped} dropped, {len(outcome.fates) - dropped} stuck)")
    if outcome.double_counted:
        failures.append(
            f"{outcome.double_counted} double-counted ({outcome.extra_rows} extra rows, "
            f"{outcome.numbering_gaps} invoices with 第N次 not 1..n)"
        )
    if failures:
        return False, "NOT MET: " + "; ".join(failures)
    worst = max((c.failover or 0.0) for c in outcome.cycles) if outcome.cycles else 0.0
    return True, (
        f"met: {ran} kill -9 cycles, failover ≤ {worst:.2f} s (target ≤ {failover_limit:.0f} s), "
        f"0 lost, 0 double-counted of {outcome.requested} checks"
    )
