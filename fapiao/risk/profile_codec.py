"""A compact encoding of one behaviour profile for the behaviour_profiles changelog (pure).

The same scheme as `seller_stats_codec`: one version byte and then `marshal` (format 4) of the profile
dict (`fapiao.risk.profiles`), so floats stay exact, the interned counterparty ids are written once, and
encoding runs in C. Only the worker writes this internal topic; `decode` still checks the shape.
A profile of another `PROFILE_VERSION` is refused (the table then starts that profile again).
"""

from __future__ import annotations

import marshal

from fapiao.risk.profiles import PROFILE_VERSION, Profile, empty_profile

CODEC_VERSION = 1
_HEADER = bytes([CODEC_VERSION])
_MARSHAL_FORMAT = 4
_KEYS = frozenset(empty_profile())


def encode(profile: Profile) -> bytes:
    return _HEADER + marshal.dumps(profile, _MARSHAL_FORMAT)


def decode(data: bytes) -> Profile:
    if data[:1] != _HEADER:
        raise ValueError(f"not a behaviour profile of a known version: {bytes(data[:16])!r}")
    try:
        value = marshal.loads(memoryview(data)[1:])
    except (EOFError, ValueError, TypeError) as exc:
        raise ValueError(f"unreadable behaviour profile: {exc}") from exc
    if not isinstance(value, dict) or value.keys() != _KEYS or value["v"] != PROFILE_VERSION:
        raise ValueError("behaviour profile of an unknown shape")
    return value
