"""sync-latency's own arithmetic (bench/sync_latency.py): per-hop times from the record timestamps and
Kafka requests per check with the idle rate taken off."""

from __future__ import annotations

import os
from collections import Counter

from bench.stats import Result
from bench.sync_latency import Sample, _cpu_rows, _hop_rows, _request_rows


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


def test_cpu_per_request_also_shows_the_idle_rate_and_the_cost_with_it_taken_off() -> None:
    cpus = os.cpu_count() or 1
    # machine readings are (busy, total) CPU-seconds: total grows by cpu_count per wall second
    idle = (({"API": 0.0, "worker": 1.0}, (0.0, 0.0)), ({"API": 0.03, "worker": 1.1}, (0.0, 2.0 * cpus)))
    before = ({"API": 10.0, "worker": 20.0}, (0.0, 100.0 * cpus))
    after = ({"API": 12.15, "worker": 25.5}, (0.0, 110.0 * cpus))  # 10 s, 1,000 requests
    result = Result("t", "t", {})
    _cpu_rows(result, 1000, before, after, idle)
    rows = _rows(result)
    assert rows["CPU per request (ms)"] == "API 2.15 / worker 5.50"
    assert rows["idle CPU (ms per second)"] == "API 15 / worker 50"  # 30 and 100 ms in 2 s
    # (2.15 s - 15 ms/s × 10 s) / 1,000 and (5.5 s - 50 ms/s × 10 s) / 1,000
    assert rows["CPU per request, idle rate taken off (ms)"] == "API 2.00 / worker 5.00"
