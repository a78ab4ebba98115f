"""Seller statistics: bytes per stored value and CPU µs per activity, Faust's JSON against the codec.

`python -m bench.seller_stats_codec [--invoices N] [--rounds N] [--seed N]`

Folds the sellers.activity events of a seeded demo feed (N issuances and their status changes, the
same functions the register agent and the risk agent call) and, for every activity, encodes the new
value as the seller_stats table writes it to its changelog: with Faust's `json` codec (what the table
used before) and with `fapiao.risk.seller_stats_codec` (what it uses now). Times are CPU time of this
process (`time.process_time_ns`), so other work on the machine inflates them less than wall clock;
the median of several rounds is printed. Decoding (what changelog recovery does per record) is timed
on the final values. In memory, no servers; nothing is recorded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from faust.serializers import codecs

from fapiao.demo import DemoFeed
from fapiao.domain import register
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.seller_activity import seller_activity
from fapiao.risk import seller_stats, seller_stats_codec
from schemas.events import InvoiceIssued, InvoiceStatusChanged, SellerActivity

CST = timezone(timedelta(hours=8))
FAUST_JSON = codecs.get_codec("json")


def activities(invoices: int, seed: int) -> list[SellerActivity]:
    """The sellers.activity events of a demo feed, as the register agent derives them."""
    feed = DemoFeed(seed, datetime(2026, 11, 1, tzinfo=CST))
    entries: dict[str, Any] = {}
    out = []
    for event in feed.issue(invoices) + feed.status_changes(0.04):
        value = event.value
        if isinstance(value, InvoiceIssued):
            key = invoice_key(value.invoice_code, value.invoice_number)
            entry, issued = register.apply_issued(entries.get(key), value), True
        elif isinstance(value, InvoiceStatusChanged):
            key = invoice_key(value.invoice_code, value.invoice_number)
            entry, issued = register.apply_status(entries.get(key), value), False
        else:
            continue
        entries[key] = entry
        if (activity := seller_activity(entry, issued)) is not None:
            out.append(activity)
    return out


def fold_round(acts: list[SellerActivity], encode: Callable[[Any], bytes]) -> tuple[float, float, dict]:  # type: ignore[type-arg]
    """(fold µs, encode µs) per activity, and the final values."""
    sellers: dict[str, Any] = {}
    fold_ns = encode_ns = 0
    clock = time.process_time_ns
    for activity in acts:
        t0 = clock()
        new = seller_stats.fold_activity(sellers.get(activity.seller_tax_id), activity)
        t1 = clock()
        encode(new)
        t2 = clock()
        sellers[activity.seller_tax_id] = new
        fold_ns += t1 - t0
        encode_ns += t2 - t1
    return fold_ns / len(acts) / 1e3, encode_ns / len(acts) / 1e3, sellers


def decode_us(values: list[bytes], decode: Callable[[bytes], Any], repeat: int = 20) -> float:
    t0 = time.process_time_ns()
    for _ in range(repeat):
        for value in values:
            decode(value)
    return (time.process_time_ns() - t0) / repeat / len(values) / 1e3


def _sizes(values: list[bytes]) -> str:
    lengths = sorted(len(v) for v in values)
    p90 = lengths[int(0.9 * (len(lengths) - 1))]
    return f"median {statistics.median(lengths):,.0f} B, p90 {p90:,} B, max {lengths[-1]:,} B"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=25_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    acts = activities(args.invoices, args.seed)
    print(f"{len(acts):,} activities of a demo feed ({args.invoices:,} invoices, seed {args.seed})")
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    rows: dict[str, list[tuple[float, float]]] = {"faust json": [], "codec v2": []}
    final: dict[str, Any] = {}
    for _ in range(args.rounds):  # interleaved, so both see the same machine load
        for name, encode in (("faust json", FAUST_JSON.dumps), ("codec v2", seller_stats_codec.encode)):
            fold, enc, final = fold_round(acts, encode)
            rows[name].append((fold, enc))
    values = list(final.values())
    old = [FAUST_JSON.dumps(v) for v in values]
    new = [seller_stats_codec.encode(v) for v in values]
    assert all(seller_stats_codec.decode(b) == v for b, v in zip(new, values, strict=True))
    print(f"{len(values)} sellers; bytes per stored value (the last one written):")
    print(f"  faust json  {_sizes(old)}")
    print(f"  codec v2    {_sizes(new)}")
    written_old = sum(len(FAUST_JSON.dumps(v)) for v in values)
    print(f"  (final values in all: {written_old:,} B as JSON, {sum(map(len, new)):,} B with the codec)")
    print(f"CPU µs per activity, median of {args.rounds} rounds (fold / encode / fold + encode):")
    for name, timings in rows.items():
        fold = statistics.median(t[0] for t in timings)
        enc = statistics.median(t[1] for t in timings)
        print(f"  {name:<10}  {fold:6.1f} / {enc:6.1f} / {fold + enc:6.1f}")
    print("CPU µs to decode one stored value (changelog recovery, per record):")
    print(f"  faust json  {decode_us(old, FAUST_JSON.loads):6.1f}")
    print(f"  codec v2    {decode_us(new, seller_stats_codec.decode):6.1f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
