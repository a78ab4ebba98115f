"""bench/pipeline_trace.py's classification of unanswered checks: stuck (ahead of the committed offset)
or lost (committed past), at verify or at risk."""

from __future__ import annotations

from bench.pipeline_trace import LOST_RISK, LOST_VERIFY, STUCK_RISK, STUCK_VERIFY, Trace, classify


def test_each_unanswered_check_is_placed_by_the_stage_it_reached_and_the_committed_offset() -> None:
    requested = {b"a": (0, 5), b"b": (0, 9), b"c": (1, 3), b"d": (1, 4), b"e": (2, 0)}
    verified = {b"c": (7, 20), b"d": (7, 30)}  # re-keyed by seller: another partition
    committed_requested = {0: 9, 1: 10}  # p2: nothing committed
    committed_verified = {7: 25}
    where = classify(requested, verified, committed_requested, committed_verified)
    assert where == {
        b"a": (LOST_VERIFY, (0, 5)),  # below the commit, never verified
        b"b": (STUCK_VERIFY, (0, 9)),  # the record at the committed offset is the next one to take
        b"c": (LOST_RISK, (7, 20)),
        b"d": (STUCK_RISK, (7, 30)),
        b"e": (STUCK_VERIFY, (2, 0)),  # nothing committed: counts from 0
    }
    lines = Trace(
        where, {"checks.requested": {0: (10, 9), 1: (10, 10)}}, [("w1", {"checks.requested": [0, 1]})]
    ).lines()
    assert any(line.startswith("2 " + STUCK_VERIFY) and "p0: 1, p2: 1" in line for line in lines)
    assert "checks.requested: 20 records; committed/end where behind: p0 9/10" in lines
    assert "  w1: checks.requested 0-1" in lines
