"""A compact, fast encoding of a seller's rolling statistics for the seller_stats changelog (pure).

The statistics stay the dict `seller_stats.fold_activity` returns; only their bytes change. Faust's
`json` codec wrote that dict as JSON text (median 16 KB for demo sellers, 85 % of it the recent invoice
numbers per buyer, each entry `["011002300111", 12345678, 1780000000]` spelt out again), and encoding it
cost about seven times the fold. Version 2 is one version byte and then `marshal` (format 4) of the
dict: binary ints and floats (exact), and each interned string — buyer tax ids, invoice series, which
the fold interns — written once and referred to after that. It is written and read in C.

`marshal` executes nothing it reads (unlike pickle), but it is no parser for hostile bytes: only the
worker writes this internal topic. Its format 4 is the same on every Python 3 since 3.4; `decode` still
checks the shape it gets. It also reads version 1, the JSON object Faust's
json codec wrote before, so a changelog written by an older worker recovers without a reset. The
other way round does not work: a worker older than this codec cannot read version 2, so rolling back
means deleting the `<app id>-seller_stats-changelog` topic (the statistics start again from empty).
"""

from __future__ import annotations

import json
import sys

from fapiao.risk import marshal_codec
from fapiao.risk.seller_stats import STATS_VERSION, Stats, empty_stats

CODEC_VERSION = 2
_HEADER = bytes([CODEC_VERSION])
_KEYS = frozenset(empty_stats())


def encode(stats: Stats) -> bytes:
    """The version-2 bytes of a statistics dict."""
    return marshal_codec.dumps(CODEC_VERSION, stats)


def decode(data: bytes) -> Stats:
    """The statistics dict of version-2 bytes, or of a version-1 JSON object (the old table value)."""
    if data[:1] == _HEADER:
        value = marshal_codec.loads(CODEC_VERSION, data, "seller statistics")
    elif data[:1] == b"{":  # version 1: the dict as JSON text, as Faust's json codec wrote it
        value = _interned(json.loads(data))
    else:
        raise ValueError(f"not seller statistics of a known version: {bytes(data[:16])!r}")
    if not isinstance(value, dict) or value.keys() != _KEYS or value["v"] != STATS_VERSION:
        raise ValueError("seller statistics of an unknown shape")
    return value


def _interned(value: Stats) -> Stats:
    """A version-1 value with its buyer ids and series interned, as the fold makes them."""
    if not isinstance(value, dict) or value.keys() != _KEYS:
        return value  # the shape check says what is wrong
    value["buyers"] = {sys.intern(b): n for b, n in value["buyers"].items()}
    value["numbers"] = {
        sys.intern(b): [[sys.intern(s), n, t] for s, n, t in entries]
        for b, entries in value["numbers"].items()
    }
    return value
