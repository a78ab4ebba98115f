"""Exact top-N from upper bounds (fapiao.analytics.ranking), pure."""

from __future__ import annotations

import random

from fapiao.analytics.ranking import exact_top


def _paged(bounds: dict[str, int], calls: list[tuple[int, int]]):  # type: ignore[no-untyped-def]
    order = sorted(bounds.items(), key=lambda kv: (-kv[1], kv[0]))

    def page(offset: int, count: int) -> list[tuple[str, int]]:
        calls.append((offset, count))
        return order[offset : offset + count]

    return page


def test_inflated_bounds_do_not_change_the_exact_order() -> None:
    # b's rows were redelivered (9 rows, 3 checks): ranked by rows it would be first
    exact = {"a": 5, "b": 3, "c": 4, "d": 1}
    bounds = {"a": 6, "b": 9, "c": 4, "d": 2}
    calls: list[tuple[int, int]] = []
    top = exact_top(_paged(bounds, calls), lambda keys: {k: exact[k] for k in keys}, 2, first_page=2)
    assert top == [("a", 5), ("c", 4)]
    assert calls == [(0, 2), (2, 4)]  # b, a first: an unseen key may still have up to 6 (a's bound) > 3


def test_random_inflation_always_gives_the_exact_top() -> None:
    rng = random.Random(15)
    for _ in range(200):
        exact = {f"k{i:03d}": rng.randint(0, 30) for i in range(rng.randint(1, 60))}
        bounds = {k: v + rng.choice([0, 0, 1, 5, 40]) for k, v in exact.items()}
        top = rng.randint(1, 12)
        got = exact_top(
            _paged(bounds, []), lambda keys, e=exact: {k: e[k] for k in keys}, top, first_page=top
        )
        assert got == sorted(exact.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


def test_a_part_counted_apart_widens_the_bound_of_unseen_keys() -> None:
    problems = {"a": 3, "b": 2, "c": 1}
    alerts = {"c": 5}  # c has few problem rows but many alerts: known to the caller, passed in
    score = {k: problems[k] + alerts.get(k, 0) for k in problems}
    got = exact_top(
        _paged(problems, []), lambda keys: {k: score[k] for k in {*keys, *alerts}}, 1, first_page=1, slack=5
    )
    assert got == [("c", 6)]


def test_a_flat_distribution_ends_in_one_full_read_not_one_page_per_key() -> None:
    exact = {f"k{i:03d}": 10 for i in range(300)}  # everyone tied: no bound ever decides
    calls: list[tuple[int, int]] = []
    full = []

    def everything() -> dict[str, int]:
        full.append(1)
        return dict(exact)

    got = exact_top(
        _paged({k: 11 for k in exact}, calls),
        lambda keys: {k: exact[k] for k in keys},
        3,
        4,
        everything=everything,
    )
    assert got == [("k000", 10), ("k001", 10), ("k002", 10)]
    assert calls == [(0, 4), (4, 8), (12, 16)] and full == [1]
