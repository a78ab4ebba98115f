"""Rolling per-seller statistics, folded from `sellers.activity` events into a JSON-able dict.

The worker keeps one dict per seller in a Faust table (stored with `seller_stats_codec`), so the
statistics are plain ints, floats, strings, lists and dicts, and their size is bounded however long
the worker runs: the amount distribution is a running mean and variance (Welford) of log amounts, the
buyers a space-saving top-k, the invoice numbers only the last few per recently active buyer.
`fold_activity` leaves its input as it was; `fold_activity_into` folds in place into statistics the
caller owns (the risk agent's batch: each seller's statistics read once, folded in place, written
once). Buyer tax ids and invoice series are interned, so the codec writes each of them once per value.
"""

from __future__ import annotations

import math
import sys
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from schemas.events import SellerActivity

Stats = dict[str, Any]

STATS_VERSION = 1
MAX_BUYERS = 200  # buyers counted (space-saving top-k: the heavy hitters stay, counts may overestimate)
MAX_TRACKED_BUYERS = 50  # buyers whose recent invoice numbers are kept, most recently active first out
MAX_NUMBERS = 20  # recent invoice numbers kept per tracked buyer
MAX_RECENT_KEYS = 64  # activities seen lately: a redelivered one is not counted twice
MIN_HISTORY = 10  # invoices before the amount z-score means anything
MIN_LOG_STD = 0.05  # floor of the log-amount spread, so a seller of one fixed price gives finite z
_CENT = 0.01
_TZ = ZoneInfo("Asia/Shanghai")


def empty_stats() -> Stats:
    return {
        "v": STATS_VERSION,
        "issued": 0,
        "voided": 0,
        "red_flushed": 0,
        "log_mean": 0.0,
        "log_m2": 0.0,
        "hours": [0] * 24,  # issued invoices per Asia/Shanghai hour of day
        "buyers": {},  # buyer tax id -> invoices (top MAX_BUYERS)
        "buyers_seen": 0,  # buyers that entered the top-k: distinct buyers, over-counted after evictions
        "numbers": {},  # buyer tax id -> [[series, number, issued epoch seconds], …] (last MAX_NUMBERS)
        "recent": [],  # "<kind>:<invoice key>" of the last MAX_RECENT_KEYS activities
        "last_at": None,
    }


def copy_stats(stats: Stats) -> Stats:
    """A copy sharing no mutable container with `stats` (for `fold_activity_into`)."""
    new = dict(stats)
    new["hours"] = list(stats["hours"])
    new["buyers"] = dict(stats["buyers"])
    new["numbers"] = dict(stats["numbers"])  # its lists are replaced, never changed
    new["recent"] = list(stats["recent"])
    return new


def fold_activity(stats: Stats | None, activity: SellerActivity) -> Stats:
    """The statistics with one more issuance, void or red flush of this seller counted (the input is
    left as it was)."""
    return fold_activity_into(copy_stats(stats) if stats else None, activity)


def fold_activity_into(stats: Stats | None, activity: SellerActivity) -> Stats:
    """`fold_activity` in place: `stats` (the caller's own copy, e.g. a batch's, read once) is changed
    and returned; None starts new statistics. What a batch folds per activity is then a few list and
    dict updates, not copies of the seller's 200 buyers and their invoice numbers."""
    new = stats if stats is not None else empty_stats()
    marker = f"{activity.kind}:{activity.invoice_key}"
    recent = new["recent"]
    if marker in recent:  # redelivered (at-least-once): already counted
        return new
    recent.append(marker)
    if len(recent) > MAX_RECENT_KEYS:
        del recent[: len(recent) - MAX_RECENT_KEYS]
    at = activity.at.isoformat()
    new["last_at"] = at if new["last_at"] is None or _later(at, new["last_at"]) else new["last_at"]
    if activity.kind == "voided":
        new["voided"] += 1
        return new
    if activity.kind == "red_flushed":
        new["red_flushed"] += 1
        return new
    n = new["issued"] + 1
    x = math.log(max(float(activity.amount), _CENT))
    delta = x - new["log_mean"]
    new["issued"] = n
    new["log_mean"] = new["log_mean"] + delta / n
    new["log_m2"] = new["log_m2"] + delta * (x - new["log_mean"])
    new["hours"][activity.issued_at.astimezone(_TZ).hour] += 1
    if activity.buyer_tax_id:
        buyer = sys.intern(activity.buyer_tax_id)  # one object in buyers and numbers: encoded once
        _count_buyer(new, buyer)
        _remember_number(new, buyer, activity)
    return new


def _later(a_iso: str, b_iso: str) -> bool:
    return datetime.fromisoformat(a_iso) > datetime.fromisoformat(b_iso)


def _count_buyer(new: Stats, buyer: str) -> None:
    """Space-saving (Metwally et al.): a new buyer in a full map takes the place of the smallest (the
    smallest count, the smallest id among equals)."""
    buyers = new["buyers"]
    if buyer in buyers:
        buyers[buyer] += 1
        return
    new["buyers_seen"] += 1
    if len(buyers) < MAX_BUYERS:
        buyers[buyer] = 1
        return
    least = min(buyers.values())
    smallest = min(key for key, count in buyers.items() if count == least)
    del buyers[smallest]
    buyers[buyer] = least + 1


def _remember_number(new: Stats, buyer: str, activity: SellerActivity) -> None:
    parsed = invoice_series(activity.invoice_key, activity.invoice_number)
    if parsed is None:
        return
    series, number = parsed
    numbers = new["numbers"]
    kept = numbers.pop(buyer, [])  # re-inserted last: the most recently active buyer
    if not any(s == series and n == number for s, n, _ in kept):
        entry = [sys.intern(series), number, int(activity.issued_at.timestamp())]
        kept = sorted([*kept, entry], key=lambda e: e[2])[-MAX_NUMBERS:]
    numbers[buyer] = kept
    while len(numbers) > MAX_TRACKED_BUYERS:
        del numbers[next(iter(numbers))]


def invoice_series(invoice_key: str, invoice_number: str) -> tuple[str, int] | None:
    """(series, number) in which consecutive invoices differ by one: the code and the 8-digit number,
    or for 数电 the year+province+channel prefix and the 15-digit sequence. None if not numeric."""
    number = invoice_number.strip()
    if not number.isascii() or not number.isdigit():
        return None
    if "-" in invoice_key:
        return invoice_key.split("-", 1)[0], int(number)
    if len(number) == 20:
        return number[:5], int(number[5:])
    return None


def void_ratio(stats: Stats | None) -> float:
    """Voided and red-flushed invoices per issued invoice (0 without history, at most 1)."""
    if not stats or not stats.get("issued"):
        return 0.0
    return min(1.0, (stats["voided"] + stats["red_flushed"]) / stats["issued"])


def amount_zscore(stats: Stats | None, amount: Decimal, *, min_history: int = MIN_HISTORY) -> float | None:
    """How many standard deviations `amount` (价税合计) is from the seller's usual, on a log scale;
    None below `min_history` invoices or for a non-positive amount."""
    if not stats or stats.get("issued", 0) < max(2, min_history) or amount <= 0:
        return None
    n = stats["issued"]
    std = max(math.sqrt(max(stats["log_m2"], 0.0) / (n - 1)), MIN_LOG_STD)
    return (math.log(float(amount)) - stats["log_mean"]) / std


def distinct_buyers(stats: Stats | None) -> int:
    return int(stats.get("buyers_seen", 0)) if stats else 0


def volume(stats: Stats | None) -> int:
    return int(stats.get("issued", 0)) if stats else 0


def hour_share(stats: Stats | None, hour: int) -> float:
    """Share of the seller's invoices issued in this Asia/Shanghai hour of day (0 without history)."""
    if not stats or not stats.get("issued") or not 0 <= hour < 24:
        return 0.0
    return float(stats["hours"][hour]) / stats["issued"]


def burst_length(
    stats: Stats | None,
    buyer_tax_id: str,
    invoice_key: str,
    invoice_number: str,
    at: datetime,
    window_days: float,
) -> int:
    """The run of consecutive invoice numbers from this seller to this buyer that contains this invoice,
    counting the numbers issued within `window_days` of `at`: 1 for an isolated invoice, 0 when the
    buyer or the number is unknown."""
    parsed = invoice_series(invoice_key, invoice_number)
    if not buyer_tax_id or parsed is None:
        return 0
    series, number = parsed
    moment, window = at.timestamp(), window_days * 86_400
    entries = (stats or {}).get("numbers", {}).get(buyer_tax_id, ())
    near = {n for s, n, t in entries if s == series and abs(t - moment) <= window}
    near.add(number)
    low = high = number
    while low - 1 in near:
        low -= 1
    while high + 1 in near:
        high += 1
    return high - low + 1
