"""Exact top-N from cheap upper bounds (a threshold algorithm), for rankings over many keys.

Ranking sellers or requesters by their exact checks would read every one's unit figures over the
period (millions of rows for a year of 20,000 sellers). The rollups' plain row counts are cheap and
never below the exact count (every check has at least one result row; redeliveries and versions only
add rows), so: take keys in descending order of their bound, page by page, compute the exact values
of those only, and stop once the N-th exact value is above the bound of the next unseen key — which
no unseen key can then beat. Exact whatever the inflation: one page when a few keys lead; when many
are close to the N-th (a flat distribution), a bounded number of pages, then every key's exact value
at once (the full read, paid only then). Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Bounds = Callable[[int, int], Sequence[tuple[str, int]]]  # (offset, count) -> [(key, bound)], bound desc


def exact_top(
    bounds: Bounds,
    exact: Callable[[list[str]], dict[str, int]],
    top: int,
    first_page: int,
    slack: int = 0,
    everything: Callable[[], dict[str, int]] | None = None,
    rounds: int = 3,
) -> list[tuple[str, int]]:
    """The `top` (key, value) with the largest exact values, ties by key. `bounds` pages the keys in
    descending order of a bound such that a key not paged yet has value ≤ its bound + `slack` (a part
    counted apart, e.g. alerts, which the caller passes to `exact` for the keys it knows). Pages
    double in size; after `rounds` pages without a decision (flat distributions: many keys near the
    N-th value) `everything` gives every key's exact value at once, when given."""
    found: dict[str, int] = {}
    offset, page = 0, max(1, first_page)
    for _ in range(rounds if everything is not None else 1 << 30):
        rows = list(bounds(offset, page))
        found.update(exact([key for key, _ in rows]))
        ranked = _ranked(found, top)
        if len(rows) < page:  # every key with a bound was seen
            return ranked
        if len(ranked) == top and ranked[-1][1] > int(rows[-1][1]) + slack:
            return ranked
        offset, page = offset + page, page * 2
    assert everything is not None
    return _ranked(everything(), top)


def _ranked(values: dict[str, int], top: int) -> list[tuple[str, int]]:
    return sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
