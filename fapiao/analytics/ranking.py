"""Exact top-N from cheap upper bounds (a threshold algorithm), for rankings over many keys.

Ranking sellers or requesters by their exact checks would read every one's unit figures over the
period (millions of rows for a year of 20,000 sellers). The rollups' plain row counts are cheap and
never below the exact count (every check has at least one result row; redeliveries and versions only
add rows), so: take keys in descending order of their bound, page by page, compute the exact values
of those only, and stop once the N-th exact value is above the bound of the next unseen key — which
no unseen key can then beat. Exact whatever the inflation; usually one page. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Bounds = Callable[[int, int], Sequence[tuple[str, int]]]  # (offset, count) -> [(key, bound)], bound desc


def exact_top(
    bounds: Bounds, exact: Callable[[list[str]], dict[str, int]], top: int, first_page: int, slack: int = 0
) -> list[tuple[str, int]]:
    """The `top` (key, value) with the largest exact values, ties by key. `bounds` pages the keys in
    descending order of a bound such that a key not paged yet has value ≤ its bound + `slack` (a part
    counted apart, e.g. alerts, which the caller passes to `exact` for the keys it knows). Pages
    double in size, so ties at the boundary cost a few rounds, not one per key."""
    found: dict[str, int] = {}
    offset, page = 0, max(1, first_page)
    while True:
        rows = list(bounds(offset, page))
        found.update(exact([key for key, _ in rows]))
        ranked = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        if len(rows) < page:  # every key with a bound was seen
            return ranked
        unseen_max = int(rows[-1][1]) + slack
        if len(ranked) == top and ranked[-1][1] > unseen_max:
            return ranked
        offset, page = offset + page, page * 2
