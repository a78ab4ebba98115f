"""chaos failover phase: where a lost check stopped, the counts and the issue-13 verdict (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner

from bench.check_fates import Cycle, Outcome, Seen, Stage, fates, numbering_gaps, recounted, verdict
from bench.harness import Proc, ResultsTail
from bench.probes import ProbeRun, partition_of, pool
from bench.stats import Result
from bench.worker_kills import Membership, Sizes, _survivor_split, report

REQ, VER, RES = "checks.requested", "checks.verified", "checks.results"
STAGES = [Stage(REQ, "app"), Stage(VER, "app"), Stage(RES, "app-sink")]


def test_a_check_is_judged_at_the_furthest_topic_it_reached() -> None:
    seen = {
        REQ: {"a": Seen(0, 10), "b": Seen(1, 5), "c": Seen(2, 7)},
        VER: {"b": Seen(3, 40)},
    }
    committed = {(REQ, 0): 11, (REQ, 1): 6, (REQ, 2): 7, (VER, 3): 40}
    ends = {(REQ, 0): 20, (REQ, 1): 9, (REQ, 2): 9, (VER, 3): 50}
    by_id = {f.check_id: f for f in fates(["a", "b", "c"], STAGES, seen, committed, ends)}
    # a: the verify agent's group committed past it (11 > 10) and it never reached checks.verified
    assert (by_id["a"].topic, by_id["a"].partition, by_id["a"].dropped) == (REQ, 0, True)
    # b: reached checks.verified; the risk agent has not taken offset 40 yet (committed 40 = next to read)
    assert (by_id["b"].topic, by_id["b"].offset, by_id["b"].committed, by_id["b"].dropped) == (
        VER,
        40,
        40,
        False,
    )
    assert by_id["b"].end == 50
    # c: committed 7 is the offset it sits at: not read yet, stuck
    assert by_id["c"].dropped is False
    assert "STUCK" in by_id["c"].describe() and "DROPPED" in by_id["a"].describe()


def test_the_last_copy_counts_and_no_commit_means_stuck() -> None:
    seen = {RES: {"x": Seen(4, 3)}}
    (fate,) = fates(["x"], STAGES, seen, {}, {(RES, 4): 9})
    assert (fate.topic, fate.committed, fate.dropped) == (RES, -1, False)


def test_a_check_nowhere_is_reported_not_hidden() -> None:
    (fate,) = fates(["ghost"], STAGES, {}, {}, {})
    assert fate.topic == "(nowhere)" and fate.dropped


def test_numbering_gaps_and_recounts() -> None:
    assert numbering_gaps({"k1": [2, 1, 3], "k2": [1, 3], "k3": [1, 1], "k4": []}) == {
        "k2": [1, 3],
        "k3": [1, 1],
    }
    records = [
        ("a", 1, False),
        ("a", 1, False),
        ("b", 2, False),
        ("b", 3, False),
        ("c", 1, False),
        ("c", 2, True),
    ]
    assert recounted(records) == {"b": [2, 3]}  # a redone with the same number and c's follow-up are fine


def _outcome(**kw: object) -> Outcome:
    base: dict[str, object] = dict(
        requested=100, stored=100, dead_letters=0, unanswered=0, extra_rows=0, numbering_gaps=0
    )
    return Outcome(**(base | kw))  # type: ignore[arg-type]


def _cycles(*failovers: float | None) -> list[Cycle]:
    return [Cycle("worker-a", (0, 1), 50, failover=f) for f in failovers]


def test_verdict_met_only_when_every_target_is() -> None:
    ok, text = verdict(_outcome(cycles=_cycles(*[9.0] * 10)), 10, 15.0)
    assert ok and text.startswith("met: 10 kill -9 cycles, failover ≤ 9.00 s")

    ok, text = verdict(_outcome(cycles=_cycles(*[9.0] * 9, 15.1)), 10, 15.0)
    assert not ok and "failover > 15 s in 1 cycles (#10: 15.10 s)" in text

    ok, text = verdict(_outcome(cycles=_cycles(*[9.0] * 9, None)), 10, 15.0)
    assert not ok and "#10: never" in text

    ok, text = verdict(_outcome(cycles=_cycles(*[9.0] * 4)), 10, 15.0)
    assert not ok and "4/10 cycles ran" in text


def test_verdict_counts_lost_and_double_counted_exactly() -> None:
    lost = fates(["a", "b"], STAGES, {REQ: {"a": Seen(0, 1), "b": Seen(0, 9)}}, {(REQ, 0): 5}, {(REQ, 0): 12})
    outcome = _outcome(
        stored=97, dead_letters=1, fates=lost, extra_rows=2, numbering_gaps=1, cycles=_cycles(*[1.0] * 10)
    )
    assert outcome.lost == 2 and outcome.double_counted == 3
    ok, text = verdict(outcome, 10, 15.0)
    assert not ok
    assert "2 lost (1 dropped, 1 stuck)" in text
    assert "3 double-counted (2 extra rows, 1 invoices with 第N次 not 1..n)" in text


def test_probe_pool_and_run() -> None:
    by_partition = pool(range(600), 12)
    assert set(by_partition) == set(range(12)) and sum(map(len, by_partition.values())) == 600
    for key in ("011002300111-10000000", "011002300111-10000599", "24312000000000123456"):
        # the producers' default partitioner (the API's Publisher and the bench's produce use it)
        assert partition_of(key, 12) == DefaultPartitioner()(key.encode(), list(range(12)), list(range(12)))
    run = ProbeRun(answered={0: 2.0, 1: 7.5})
    assert run.seconds([0, 1]) == 7.5
    assert run.seconds([0, 1, 2]) is None
    assert run.seconds([]) is None


def test_the_survivors_log_says_where_a_failover_went(tmp_path: Path) -> None:
    log = tmp_path / "worker-b.log"
    log.write_text(
        "[2026-12-07 23:20:10,000] [1] [INFO] Joined group 'app' (generation 3) with member_id m-1 \n"
        "[2026-12-07 23:20:11,000] [1] [INFO] [^---GuardedRecovery]: Resuming flow... \n"
        "\x1b[2m2026-12-07T23:20:12Z\x1b[0m structlog line, no faust prefix\n"
        "[2026-12-07 23:20:27,500] [1] [INFO] Joined group 'app-sink' (generation 2) with member_id s-1 \n"
        "[2026-12-07 23:20:27,750] [1] [INFO] Joined group 'app' (generation 4) with member_id m-1 \n"
        "[2026-12-07 23:20:31,000] [1] [INFO] [^---GuardedRecovery]: Resuming flow... \n"
    )
    proc = Proc("worker-b", None, log, 0.0, 0.0)  # type: ignore[arg-type]
    assert proc.member_id("app") == "m-1" and proc.member_id("app-sink") == "s-1"
    killed = datetime(2026, 12, 7, 23, 20, 17).timestamp()  # local time, as the log's
    joined, resumed = _survivor_split(proc, "app", killed)
    assert joined == pytest.approx(10.75) and resumed == pytest.approx(14.0)
    assert _survivor_split(proc, "app", killed + 60) == (None, None)


def test_the_results_tail_keeps_when_each_partition_last_decided() -> None:
    tail = ResultsTail(None, "checks.results", partition_of=lambda key: int(key[-1]))  # type: ignore[arg-type]
    for value in (
        b'{"check_id":"a","decided_at":"2026-12-07T23:20:31.500000Z","invoice_key":"k-1"}',
        b'{"check_id":"b","decided_at":"2026-12-07T23:20:30Z","invoice_key":"k-1"}',  # older: kept the later
        b'{"check_id":"c","decided_at":"2026-12-07T23:20:40+00:00","invoice_key":"k-2"}',
        b'{"check_id":"d","decided_at":"garbage","invoice_key":"k-3"}',
    ):
        tail._decided(value)
    assert tail.decided == {
        1: datetime(2026, 12, 7, 23, 20, 31, 500000, tzinfo=UTC).timestamp(),
        2: datetime(2026, 12, 7, 23, 20, 40, tzinfo=UTC).timestamp(),
    }


def test_the_report_rows_of_a_run_with_a_cycle_that_never_failed_over() -> None:
    cycles = [Cycle("worker-a", (0, 1), 10, failover=None, note="partitions [0] answered no probe")]
    cycles += [
        Cycle("worker-b", (2, 3), 5, failover=12.0, resumed=11.0, survivor_joined=10.0) for _ in range(9)
    ]
    result = Result("chaos-failover", "t", {})
    membership = Membership(generations=20, spurious=0, errors=0, expected=True)
    ok = report(result, Sizes(), _outcome(cycles=cycles), membership, ["detail"])
    rows = {metric.strip(): (value, note) for metric, value, note in result.rows}
    assert not ok and rows["verdict (issue 13 targets)"][0] == "NOT MET"
    assert "#1: never" in rows["verdict (issue 13 targets)"][1]
    assert rows["failover (the dead worker's partitions)"][0] == "median 12.00 s, max 12.00 s"
    assert rows["where it went: survivor rejoined / resumed"][0] == "median 10.00 s / —"
    assert rows["rebalances nobody caused"][0] == "0 spurious"
    assert result.details == ["detail"]


def test_a_rebalance_nobody_caused_fails_the_verdict() -> None:
    cycles = [Cycle("worker-b", (2, 3), 5, failover=9.0, resumed=8.0, survivor_joined=6.0) for _ in range(10)]
    result = Result("chaos-failover", "t", {})
    membership = Membership(generations=21, spurious=1, errors=2, expected=True)
    assert not report(result, Sizes(), _outcome(cycles=cycles), membership, [])
    rows = {metric.strip(): (value, note) for metric, value, note in result.rows}
    assert rows["rebalances nobody caused"][0] == "1 spurious"
    assert "1 spurious rebalances" in rows["verdict (issue 13 targets)"][1]
