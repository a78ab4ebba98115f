"""The failover benchmark's count of rebalances nobody caused (bench/worker_kills.py), and the defined
CPU load it is run under (bench/cpu_burn.py)."""

from bench.cpu_burn import shares
from bench.worker_kills import joined_generations, membership_errors, spurious_generations

GROUP = "benchx-fapiao-sentinel"


def joined(generation: int, group: str = GROUP) -> str:
    return (
        f"[2026-12-08 02:30:00,000] [1] [INFO] Joined group '{group}' (generation {generation}) "
        "with member_id aiokafka-0.12.0-abc"
    )


def test_generations_of_the_main_group_only() -> None:
    a = "\n".join([joined(1), joined(2), joined(3, f"{GROUP}-sink")])
    b = "\n".join([joined(2), joined(4)])
    assert joined_generations([a, b], GROUP) == {1, 2, 4}


def test_two_generations_per_cycle_are_the_kills_and_restarts() -> None:
    assert spurious_generations({1, 2, 3, 4, 5, 6}, baseline=2, cycles=2) == 0
    assert spurious_generations({2, 3, 4, 5, 6, 7}, baseline=2, cycles=2) == 1  # one nobody caused
    assert spurious_generations({1, 2, 3}, baseline=2, cycles=1) == 0  # a cycle cut short


def test_membership_errors_counted_by_line() -> None:
    logs = ["Heartbeat session expired - marking coordinator dead\nok", "UnknownMemberIdError x\nFine"]
    assert membership_errors(logs) == 2


def test_burner_shares() -> None:
    assert shares(1.5) == [1.0, 0.5]
    assert shares(2) == [1.0, 1.0]
    assert shares(0.25) == [0.25]
