"""sync-latency's own arithmetic (bench/sync_latency.py): per-hop times from the record timestamps and
Kafka requests per check with the idle rate taken off."""

from __future__ import annotations

from collections import Counter

from bench.stats import Result
from bench.sync_latency import Sample, _hop_rows, _request_rows


def _rows(result: Result) -> dict[str, str]:
    return {metric: value for metric, value, _ in result.rows}


def test_each_hop_is_the_time_between_consecutive_points_of_a_check() -> None:
    sample = Sample(due=0.0, sent=0.0, status=200, wall_sent=100.000, wall_done=100.050, check_id="c1")
    lost = Sample(due=0.0, sent=0.0, status=202, wall_sent=100.000, check_id="c2")  # a 202: no answer hop
    hops = {
        "c1": {"checks.requested": 100.002, "checks.verified": 100.012, "checks.results": 100.030},
        "c2": {"checks.requested": 100.004},
    }
    result = Result("t", "t", {})
    _hop_rows(result, [sample, lost], hops)
    rows = _rows(result)
    assert rows["hop: client sent → checks.requested p50 / p99"].startswith("3.0 ms")  # of 2 and 4 ms
    assert rows["hop: checks.requested → checks.verified p50 / p99"].startswith("10.0 ms")
    assert rows["hop: checks.verified → checks.results p50 / p99"].startswith("18.0 ms")
    assert rows["hop: checks.results → answered p50 / p99"].startswith("20.0 ms")


def test_requests_per_check_take_off_what_the_process_sends_while_idle() -> None:
    before = {"worker": Counter({"ProduceRequest": 10, "FetchRequest": 100, "HeartbeatRequest": 5})}
    after = {"worker": Counter({"ProduceRequest": 210, "FetchRequest": 400, "HeartbeatRequest": 15})}
    idle = {"worker": Counter({"FetchRequest": 5.0, "HeartbeatRequest": 1.0})}  # per second
    result = Result("t", "t", {})
    _request_rows(result, 100, before, after, idle, seconds=10.0)
    # produce (210 - 10) / 100; fetch (300 - 5/s × 10 s) / 100
    assert _rows(result)["Kafka requests per check, worker"] == "produce 2.00 / fetch 2.50"
