"""The failover benchmark's count of rebalances nobody caused (bench/worker_kills.py), and the defined
CPU load it is run under (bench/cpu_burn.py)."""

from datetime import datetime

from bench.cpu_burn import shares
from bench.worker_kills import joined_generations, membership_errors, spurious_generations

GROUP = "benchx-fapiao-sentinel"


def joined(generation: int, second: int, group: str = GROUP) -> str:
    return (
        f"[2026-12-08 02:30:{second:02d},250] [1] [INFO] Joined group '{group}' (generation {generation}) "
        "with member_id aiokafka-0.12.0-abc"
    )


def at(second: float) -> float:
    return datetime(2026, 12, 8, 2, 30).timestamp() + second


def test_generations_of_the_main_group_only_first_joined() -> None:
    a = "\n".join([joined(1, 1), joined(2, 5), joined(3, 6, f"{GROUP}-sink"), "[noise] Joined group"])
    b = "\n".join([joined(2, 4), joined(4, 9)])
    assert joined_generations([a, b], GROUP) == {1: at(1.25), 2: at(4.25), 4: at(9.25)}


def test_two_generations_per_cycle_are_the_kills_and_restarts() -> None:
    # start-up's three generations before the kill at 10 s, then kill and restart twice
    joined = {g: at(g * 4) for g in range(1, 8)}  # 3 before the first kill (at 14 s), 4 after
    assert spurious_generations(joined, first_kill=at(14), cycles=2) == 0
    assert spurious_generations(joined | {8: at(40)}, first_kill=at(14), cycles=2) == 1  # nobody's
    assert spurious_generations(joined, first_kill=at(14), cycles=3) == 0  # a cycle cut short


def test_membership_errors_counted_by_line() -> None:
    logs = ["Heartbeat session expired - marking coordinator dead\nok", "UnknownMemberIdError x\nFine"]
    assert membership_errors(logs) == 2


def test_burner_shares() -> None:
    assert shares(1.5) == [1.0, 0.5]
    assert shares(2) == [1.0, 1.0]
    assert shares(0.25) == [0.25]
