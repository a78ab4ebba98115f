"""Where a verify-throughput run's unanswered checks are: stuck (still ahead of a consumer group's
committed offset, so a live worker should take them yet) or dropped (the group committed past them
without their output), and at which stage (checks.requested → checks.verified → checks.results).

A benchmark that stops on "no new result for N s" cannot tell the two apart from the results alone: a
stalled partition and a record committed past look the same from checks.results. This follows each
unanswered check along the pipeline (bench/check_fates.py, as the chaos failover phase does), and reads
the end and committed offsets of every partition of every topic the worker's groups read (the faust
app's, and the sink's for checks.results / risk.alerts) and the group's members with their
assignment, so a report says which partitions held what.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bench.check_fates import Fate, Stage, fates, where_stopped
from bench.harness import GroupState, Stack
from bench.worker_kills import last_copies, stage_offsets
from fapiao import topics

# every topic the worker's faust group reads, then those its sink's group reads
APP_TOPICS = (
    topics.INVOICES_ISSUED,
    topics.INVOICES_STATUS,
    topics.CHECKS_REQUESTED,
    topics.CHECKS_RECHECKS,
    topics.CHECKS_VERIFIED,
    topics.SELLERS_ACTIVITY,
)
SINK_TOPICS = (topics.CHECKS_RESULTS, topics.RISK_ALERTS)


@dataclass
class Trace:
    """What `trace` found (`lines()` for a report)."""

    fates: list[Fate]
    stages: list[Stage]  # every topic of the pipeline with the group that reads it
    committed: dict[tuple[str, int], int]
    ends: dict[tuple[str, int], int]
    group: GroupState
    prefix: str

    def counts(self) -> dict[str, int]:
        """'stuck' / 'dropped' -> how many unanswered checks."""
        out = {"stuck": 0, "dropped": 0}
        for f in self.fates:
            out["dropped" if f.dropped else "stuck"] += 1
        return {k: v for k, v in out.items() if v}

    def lines(self) -> list[str]:
        by_where = where_stopped(self.fates, self.prefix)
        out = [
            "unanswered checks by where they stopped: "
            + ", ".join(f"{w}: {n}" for w, n in sorted(by_where.items()))
        ]
        out.append("committed / end offset per partition (lag marked *):")
        for stage in self.stages:
            cells = []
            for p in sorted(p for (t, p) in self.ends if t == stage.topic):
                done, end = self.committed.get((stage.topic, p), -1), self.ends[(stage.topic, p)]
                cells.append(f"{p}:{done}/{end}{'*' if done < end else ''}")
            out.append(f"  {stage.topic.removeprefix(self.prefix)} ({stage.group}): {' '.join(cells) or '—'}")
        out.append(f"group {self.group.state}, {len(self.group.members)} member(s):")
        for member, assigned in self.group.members.items():
            mine = ", ".join(
                f"{t.removeprefix(self.prefix)} {_spans(ps)}" for t, ps in sorted(assigned.items()) if ps
            )
            out.append(f"  {member}: {mine or 'nothing'}")
        return out


def _spans(parts: Iterable[int]) -> str:
    """[0, 1, 2, 5] -> '0-2,5'."""
    runs: list[list[int]] = []
    for p in sorted(parts):
        if runs and runs[-1][1] == p - 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return ",".join(f"{a}-{b}" if a != b else f"{a}" for a, b in runs)


async def trace(stack: Stack, unanswered: Iterable[str]) -> Trace:
    """Where each unanswered check (by id) stopped, with the offsets and the group at the end of the run."""
    settings = stack.settings
    app, sink = settings.faust_app_id, settings.sink_group
    stages = [Stage(stack.topic(s.name), app) for s in APP_TOPICS]
    stages += [Stage(stack.topic(s.name), sink) for s in SINK_TOPICS]
    committed, ends = await stage_offsets(stack, stages)  # before the topics are read: the workers go on
    path = [
        stack.topic(s.name) for s in (topics.CHECKS_REQUESTED, topics.CHECKS_VERIFIED, topics.CHECKS_RESULTS)
    ]
    followed = [s for name in path for s in stages if s.topic == name]
    seen = {s.topic: last_copies(await stack.read_topic(s.topic)) for s in followed}
    found = fates(set(unanswered), followed, seen, committed, ends)
    return Trace(found, stages, committed, ends, await stack.group_members(app), settings.topic_prefix)
