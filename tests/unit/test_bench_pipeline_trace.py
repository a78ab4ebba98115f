"""bench/pipeline_trace.py's report of a run's unanswered checks (the fates are bench/check_fates.py's):
how many are stuck and dropped, where they stopped, the offsets of every stage and who held what."""

from __future__ import annotations

from bench.check_fates import Seen, Stage, fates
from bench.harness import GroupState
from bench.pipeline_trace import Trace


def test_the_report_says_where_the_unanswered_checks_stopped_and_who_held_those_partitions() -> None:
    stages = [Stage("x-checks.requested", "app"), Stage("x-checks.verified", "app")]
    seen = {
        "x-checks.requested": {"a": Seen(0, 5), "b": Seen(0, 9), "c": Seen(1, 3)},
        "x-checks.verified": {"c": Seen(7, 20)},  # re-keyed by seller: another partition
    }
    committed = {("x-checks.requested", 0): 9, ("x-checks.verified", 7): 25}
    ends = {("x-checks.requested", 0): 10, ("x-checks.requested", 1): 4, ("x-checks.verified", 7): 25}
    found = fates({"a", "b", "c"}, stages, seen, committed, ends)
    group = GroupState("Stable", {"w1": {"x-checks.requested": {0, 1}, "x-checks.verified": {5, 6, 7}}})
    trace = Trace(found, stages, committed, ends, group, "x-")
    assert trace.counts() == {"stuck": 1, "dropped": 2}
    lines = trace.lines()
    assert lines[0] == (
        "unanswered checks by where they stopped: dropped after checks.requested[0]: 1, "
        "dropped after checks.verified[7]: 1, stuck at checks.requested[0]: 1"
    )
    assert "  checks.requested (app): 0:9/10* 1:-1/4*" in lines
    assert "  checks.verified (app): 7:25/25" in lines
    assert "  w1: checks.requested 0-1, checks.verified 5-7" in lines
