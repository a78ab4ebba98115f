"""Behaviour profiles of sellers, buyers, requesters and seller→buyer pairs (pure, bounded, JSON-able).

A profile is what one party usually does: the amounts of its recent invoices, the hours and weekdays
it issues or checks at, whom it deals with, what it bills (items, tax rates, types), how long after
issue its invoices are presented, who presents them, and how often it acts (two decayed rates, an hour
and a week). The same dict shape serves every role; a role fills only the parts it observes:

- seller and pair profiles are folded from issuances (`Observed` with kind "issued", from
  `sellers.activity`) and from the checks of their invoices (items, tax rates, requesters);
- buyer and requester profiles are folded from presented checks (kind "checked": 一致 or a status,
  i.e. a face the requester saw).

Every part is bounded: amounts and delays are the last `MAX_SAMPLES` values (a recent window: robust
statistics of it, median and quantiles, are what features use), counterparties, requesters and items
are space-saving top-k maps, histograms have fixed length. `recent` remembers the last markers folded,
so an at-least-once redelivery is not counted twice, as in `seller_stats`. A profile stays under about
8 kB of JSON however long the worker runs. `fold` and `fold_population` leave their input as it was;
`fold_into` and `fold_population_into` change a profile the caller owns (a batch's copy: the worker
folds each event in place instead of copying the whole profile per observation).

A population profile (the same shape, keys `*|…`) is folded with every observation of a role:
features compare a young profile with it.
"""

from __future__ import annotations

import bisect
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Profile = dict[str, Any]

PROFILE_VERSION = 3  # 2: issue_rate; 3: issue_log
MAX_SAMPLES = 48  # last amounts / delays kept
MAX_PARTIES = 48  # counterparties (space-saving top-k)
MAX_REQUESTERS = 16  # requesters who present a party's invoices (top-k)
MAX_ITEMS = 32  # item names billed (top-k)
MAX_ORGS = 8
MAX_RECENT = 64  # markers folded lately (redelivery)
TOP_AMOUNTS = 5  # largest amounts ever kept: "more than it ever billed" compares with the 3 largest
# others (one may be the invoice being judged)
FAST_SECONDS = 3_600.0  # mean life of the fast rate: events "in the last hour"
SLOW_SECONDS = 7 * 86_400.0  # … of the slow rate: events "in the last week"
POPULATION_SAMPLES = 4 * MAX_SAMPLES  # a population's samples: the traffic's recent values
ISSUE_LOG = 12  # issuances whose rates are kept (a burst of up to a dozen invoices is read as issued)


def empty_profile() -> Profile:
    return {
        "v": PROFILE_VERSION,
        "n": 0,  # observations folded (issued + checked)
        "issued": 0,
        "checked": 0,
        "first": None,  # epoch seconds of the first and the last observation
        "last": None,
        "amounts": [],  # ln(价税合计) of the last MAX_SAMPLES observations with an amount
        "top": [],  # the TOP_AMOUNTS largest ln(价税合计) ever, ascending
        "issue_hours": [0] * 24,  # Asia/Shanghai hour of issue
        "issue_days": [0] * 7,  # weekday of issue
        "check_hours": [0] * 24,
        "rate": [0.0, 0.0, None],  # [fast, slow, at]: exponentially decayed event counts
        # … of issuances only: a seller's or pair's bursts of issuing (its checks arrive when buyers
        # present them, in bulk after a reimbursement run: no part of how fast it issues)
        "issue_rate": [0.0, 0.0, None],
        # [at, fast, slow, population fast, population slow] right after each of the last ISSUE_LOG
        # issuances (this profile's issue_rate and its population's rate): a burst is judged against
        # the traffic as it was when it was issued, not days later at the check (the traffic may be
        # many times denser by then, and the seller or pair may have issued again since)
        "issue_log": [],
        "parties": {},  # counterparty -> count (top MAX_PARTIES): buyers of a seller, sellers of a buyer …
        "parties_seen": 0,  # counterparties that entered the map: distinct, over-counted after evictions
        "requesters": {},  # requester -> count (top MAX_REQUESTERS)
        "requesters_seen": 0,
        "items": {},  # item name -> count (top MAX_ITEMS)
        "items_seen": 0,
        "item_lines": 0,  # lines folded (the denominator of an item's share)
        "tax_rates": {},  # "0.13" -> lines
        "types": {},  # fplx -> invoices
        "delays": [],  # ln(1 + days from issue to check) of the last MAX_SAMPLES checks
        "buyer_requester": [0, 0],  # [requester is the buyer, buyer known]
        "orgs": [],  # organisations it was seen in (at most MAX_ORGS)
        "shapes": [0, 0, 0],  # amounts [just under a round limit, a round sum, all]
        "bursts": [],  # population only: the fast rate entities had when they acted (last MAX_SAMPLES)
        "recent": [],
    }


@dataclass(frozen=True)
class Observed:
    """One thing a party did, as a profile folds it. Fields a source does not know stay empty."""

    marker: str  # unique per observation and profile kind: "<kind>:<invoice key or check id>"
    kind: str  # "issued" | "checked"
    at: float  # epoch seconds: issued_at for an issuance, requested_at for a check
    total: float | None = None  # 价税合计
    issue_hour: int = -1
    issue_day: int = -1
    check_hour: int = -1
    party: str = ""  # the counterparty for this profile's role
    requester: str = ""
    items: tuple[str, ...] = ()
    tax_rates: tuple[str, ...] = ()
    fplx: str = ""
    delay_days: float | None = None
    requester_is_buyer: bool | None = None
    org: str = ""


def copy_profile(profile: Profile) -> Profile:
    """A copy sharing no mutable container with `profile` (for the in-place folds)."""
    return {k: v.copy() if isinstance(v, list | dict) else v for k, v in profile.items()}


def fold(profile: Profile | None, obs: Observed, samples: int = MAX_SAMPLES) -> Profile:
    """The profile with one more observation counted (a marker already folded changes nothing);
    `samples` amounts and delays are kept (more for a population). The input is left as it was."""
    return fold_into(copy_profile(profile) if profile else None, obs, samples)


def fold_into(profile: Profile | None, obs: Observed, samples: int = MAX_SAMPLES) -> Profile:
    """`fold` in place: `profile` (the caller's own copy, e.g. a batch's) is changed and returned;
    None starts a new one. The same result as `fold`, without copying the profile per observation."""
    new = profile if profile is not None else empty_profile()
    recent = new["recent"]
    if obs.marker in recent:
        return new
    _push(recent, obs.marker, MAX_RECENT)
    new["n"] += 1
    new[obs.kind] = new.get(obs.kind, 0) + 1
    new["first"] = obs.at if new["first"] is None else min(new["first"], obs.at)
    new["last"] = obs.at if new["last"] is None else max(new["last"], obs.at)
    _bump_rate(new["rate"], obs.at)
    if obs.kind == "issued":
        _bump_rate(new["issue_rate"], obs.at)
    total = obs.total
    if total is not None and total > 0:
        x = math.log(total)
        _push(new["amounts"], x, samples)
        top = new["top"]
        bisect.insort(top, x)
        if len(top) > TOP_AMOUNTS:
            del top[: len(top) - TOP_AMOUNTS]
        shapes = new["shapes"]
        shapes[0] += near_limit(total)
        shapes[1] += round_sum(total)
        shapes[2] += 1
    if 0 <= obs.issue_hour < 24:
        new["issue_hours"][obs.issue_hour] += 1
    if 0 <= obs.issue_day < 7:
        new["issue_days"][obs.issue_day] += 1
    if 0 <= obs.check_hour < 24:
        new["check_hours"][obs.check_hour] += 1
    if obs.party:
        new["parties_seen"] += _count_top(new["parties"], obs.party, MAX_PARTIES)
    if obs.requester:
        new["requesters_seen"] += _count_top(new["requesters"], obs.requester, MAX_REQUESTERS)
    if obs.items:
        items = new["items"]
        for item in obs.items:
            new["items_seen"] += _count_top(items, item, MAX_ITEMS)
        new["item_lines"] += len(obs.items)
    if obs.tax_rates:
        rates = new["tax_rates"]
        for rate in obs.tax_rates:
            rates[rate] = rates.get(rate, 0) + 1
    if obs.fplx:
        types = new["types"]
        types[obs.fplx] = types.get(obs.fplx, 0) + 1
    if obs.delay_days is not None:
        _push(new["delays"], math.log1p(max(0.0, obs.delay_days)), samples)
    if obs.requester_is_buyer is not None:
        pair = new["buyer_requester"]
        pair[0] += int(obs.requester_is_buyer)
        pair[1] += 1
    if obs.org and obs.org not in new["orgs"]:
        _push(new["orgs"], obs.org, MAX_ORGS)
    return new


def fold_population(population: Profile | None, obs: Observed, entity_fast: float) -> Profile:
    """The population profile with one more observation, and the share of the last hour's events its
    entity had then (its fast rate over the population's: a share does not move when traffic grows).
    The input is left as it was."""
    return fold_population_into(copy_profile(population) if population else None, obs, entity_fast)


def fold_population_into(population: Profile | None, obs: Observed, entity_fast: float) -> Profile:
    """`fold_population` in place (as `fold_into`)."""
    if population is not None and obs.marker in population["recent"]:
        return population
    pop_fast = decayed(population["rate"], obs.at)[0] if population else 0.0
    new = fold_into(population, obs, POPULATION_SAMPLES)
    _push(new["bursts"], (float(entity_fast) + 1.0) / (pop_fast + 1.0), POPULATION_SAMPLES)
    return new


def log_issue_into(profile: Profile, population_rate: list[Any], at: float) -> None:
    """Keep the rates right after an issuance at `at` (just folded into `profile` and its population)
    among the last ISSUE_LOG; the caller logs an issuance once (not a redelivery)."""
    fast, slow = decayed(profile["issue_rate"], at)
    pop_fast, pop_slow = decayed(population_rate, at)
    _push(profile["issue_log"], [at, fast, slow, pop_fast, pop_slow], ISSUE_LOG)


def issue_peak(profile: Profile | None, at: float) -> list[float] | None:
    """The logged issuance in the hour from `at` on where the profile's fast rate peaked (the burst an
    invoice issued at `at` is part of, with the traffic of that moment), or None (none logged)."""
    if not profile:
        return None
    best = None
    for entry in profile.get("issue_log", ()):
        if at <= entry[0] <= at + FAST_SECONDS and (best is None or entry[1] > best[1]):
            best = entry
    return best


def migrate(profile: Profile) -> Profile | None:
    """A stored profile in this version's layout: version 2 (before `issue_log`) gains an empty log (its
    bursts are read against the rates at the check, as before, until it issues again); older layouts
    are None (folded again from here)."""
    if profile.get("v") == 2 and "issue_log" not in profile:
        return {**profile, "v": PROFILE_VERSION, "issue_log": []}
    return profile if profile.get("v") == PROFILE_VERSION else None


def _push(values: list[Any], value: Any, keep: int) -> None:
    """Append, keeping the last `keep`."""
    values.append(value)
    if len(values) > keep:
        del values[: len(values) - keep]


def _bump_rate(rate: list[Any], at: float) -> None:
    fast, slow = decayed(rate, at)
    rate[0], rate[1] = fast + 1.0, slow + 1.0
    rate[2] = at if rate[2] is None else max(rate[2], at)


def decayed(rate: list[Any], at: float) -> tuple[float, float]:
    """(fast, slow) event counts decayed to `at` (an event out of order is not decayed backwards)."""
    fast, slow, last = rate
    if last is None:
        return 0.0, 0.0
    gap = max(0.0, at - last)
    return fast * math.exp(-gap / FAST_SECONDS), slow * math.exp(-gap / SLOW_SECONDS)


def _count_top(counts: dict[str, int], key: str, limit: int) -> int:
    """Space-saving top-k (Metwally et al.), as seller_stats counts buyers, in place: a new key in a
    full map takes the place of the smallest (the smallest count, the smallest key among equals).
    Returns 1 when `key` entered the map (the map's `…_seen` counts those), else 0."""
    if key in counts:
        counts[key] += 1
        return 0
    key = sys.intern(key)
    if len(counts) >= limit:
        least = min(counts.values())
        smallest = min(k for k, count in counts.items() if count == least)
        del counts[smallest]
        counts[key] = least + 1
    else:
        counts[key] = 1
    return 1


# -- reading a profile ---------------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (linear interpolation) of a non-empty list."""
    return quantile_sorted(sorted(values), q)


def quantile_sorted(ordered: list[float], q: float) -> float:
    """`quantile` of a list already sorted ascending (a caller reading several quantiles sorts once)."""
    pos = q * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def robust_z(values: list[float], x: float, floor: float) -> float:
    """(x − median) / scale, the scale 1.4826·MAD with a floor: a few outliers in `values` move neither."""
    return robust_z_sorted(sorted(values), x, floor)


def robust_z_sorted(ordered: list[float], x: float, floor: float) -> float:
    """`robust_z` of samples already sorted ascending."""
    median = quantile_sorted(ordered, 0.5)
    mad = quantile_sorted(sorted([abs(v - median) for v in ordered]), 0.5)
    return (x - median) / max(1.4826 * mad, floor)


Z90 = 1.2815515655446004  # the standard normal's 90th percentile: q90 − q10 = 2·Z90·σ for a normal


def beyond_range_sorted(ordered: list[float], x: float, floor: float) -> tuple[float, float, float]:
    """How far `x` lies outside the samples' usual range, their 10th–90th percentiles, in units of
    their spread: (z, q10, q90), z = (x − q90) / s above the range, (q10 − x) / s below it, 0 inside,
    with s = (q90 − q10) / (2·Z90) (σ for a normal), at least `floor`. For a normal this is
    |robust z| − Z90; for a profile of several modes (a car dealer's cars and its servicing, a
    requester presenting several sellers) the range spans them all, where a median and MAD measure
    only the largest mode, and a value of another usual mode is no deviation. `ordered` ascending."""
    low, high = quantile_sorted(ordered, 0.1), quantile_sorted(ordered, 0.9)
    spread = max((high - low) / (2.0 * Z90), floor)
    z = (x - high) / spread if x > high else (low - x) / spread if x < low else 0.0
    return z, low, high


def shares(histogram: Sequence[float], prior: Sequence[float] | None, strength: float = 2.0) -> list[float]:
    """Smoothed share of every slot: the profile's counts plus `strength` pseudo-counts spread like
    `prior` (the population), or uniformly without one. They sum to 1."""
    n, k = sum(histogram), len(histogram)
    total = sum(prior) if prior else 0
    base = [(v + 0.5) / (total + 0.5 * k) for v in prior] if prior and total else [1.0 / k] * k
    return [(h + strength * p0) / (n + strength) for h, p0 in zip(histogram, base, strict=True)]


def share(
    histogram: Sequence[float], slot: int, prior: Sequence[float] | None, strength: float = 2.0
) -> float:
    """`shares` of one slot."""
    return shares(histogram, prior, strength)[slot]


def entropy_of(values: Sequence[float]) -> float:
    """Entropy (nats) of shares summing to 1: the surprise of a profile's typical slot."""
    return -sum(p * math.log(p) for p in values if p > 0)


SMOOTH = (0.25, 0.5, 1.0, 0.5, 0.25)  # a slot's count spread over its neighbours (two each side)


_NORM = sum(SMOOTH)
_WEIGHTS = tuple((offset, w / _NORM) for offset, w in enumerate(SMOOTH, -(len(SMOOTH) // 2)))


def circular_smooth(histogram: Sequence[float]) -> list[float]:
    """Counts spread over neighbouring slots, wrapping (hours: 23 is next to 00), same total: slot s
    gets Σ histogram[(s − offset) mod n] · w, summed in offset order (five rotated copies of the
    histogram added slot by slot, not a generator per slot)."""
    n, h = len(histogram), list(histogram)
    (_, w0), (_, w1), (_, w2), (_, w3), (_, w4) = _WEIGHTS
    a, b, c, d, e = (h[n - offset % n :] + h[: n - offset % n] for offset, _ in _WEIGHTS)
    columns = zip(a, b, c, d, e, strict=True)
    return [0 + x0 * w0 + x1 * w1 + x2 * w2 + x3 * w3 + x4 * w4 for x0, x1, x2, x3, x4 in columns]


def usual_slots(histogram: list[int], mass: float = 0.9) -> list[int]:
    """The fewest slots holding `mass` of the counts, sorted (for a readable 'usually 09–18 时')."""
    total = sum(histogram)
    if not total:
        return []
    chosen, held = [], 0
    for slot in sorted(range(len(histogram)), key=lambda s: -histogram[s]):
        chosen.append(slot)
        held += histogram[slot]
        if held >= mass * total:
            break
    return sorted(chosen)


def new_share(seen: int, n: int) -> float:
    """Good–Turing: how often this profile met something new so far (its next one is new that often)."""
    if n <= 0:
        return 1.0
    return max(1.0, float(seen)) / (n + 1.0)


def age_hours(profile: Profile | None, at: float) -> float:
    if not profile or profile["first"] is None:
        return 0.0
    return max(0.0, at - profile["first"]) / 3_600.0


LIMITS = tuple(m * 10**k for k in range(3, 8) for m in (1, 2, 5))  # 1,000 … 50,000,000 yuan


def near_limit(total: float) -> bool:
    """Just under a round limit (within 2 %, not on it): 9,980 under 10,000, 49,500 under 50,000."""
    # the intervals [0.98·L, L) are disjoint: only the smallest limit above `total` can hold it
    i = bisect.bisect_right(LIMITS, total)
    return i < len(LIMITS) and 0.98 * LIMITS[i] <= total


def round_sum(total: float) -> bool:
    """A round sum of at least 1,000 yuan: a multiple of 1,000 with no cents."""
    return total >= 1_000 and abs(total - round(total)) < 0.005 and round(total) % 1_000 == 0
