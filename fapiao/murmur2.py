"""Kafka's default partitioner hash (murmur2, as the Java client, aiokafka and librdkafka's
`murmur2_random` compute it), a word at a time.

aiokafka's pure-Python `murmur2` indexes the key byte by byte; the register checks every bulk-fed
invoice's partition with it (streams/dead_letters.require_key), where it cost ≈ 3 µs of the ≈ 50 µs an
invoice may take. The same function over 4-byte little-endian words: tests/unit/test_murmur2.py checks it
against aiokafka's on arbitrary bytes.
"""

from __future__ import annotations

import struct

_WORDS = struct.Struct("<I").iter_unpack
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """MurmurHash2 of `data` with Kafka's seed (0x9747b28c), as an unsigned 32-bit int."""
    length = len(data)
    whole = length & ~3
    h = 0x9747B28C ^ length
    for (k,) in _WORDS(data[:whole]):
        k = (k * _M) & _MASK
        k ^= k >> 24
        h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    tail = length - whole
    if tail:
        if tail == 3:
            h ^= data[whole + 2] << 16
        if tail >= 2:
            h ^= data[whole + 1] << 8
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a non-null `key` among `partitions`."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
