"""A compact encoding of one behaviour profile for the behaviour_profiles changelog (pure).

The same scheme as `seller_stats_codec` (`marshal_codec`: a version byte, then marshal of the dict), so
floats stay exact, the interned counterparty ids are written once, and encoding runs in C. Only the
worker writes this internal topic; `decode` still checks the shape. A profile an older worker wrote
(another `PROFILE_VERSION`) is migrated when `profiles.migrate` can (version 2 → 3: an empty
`issue_log`), else decodes to None: that profile starts again, the worker does not stop.
"""

from __future__ import annotations

from fapiao.risk import marshal_codec
from fapiao.risk.profiles import PROFILE_VERSION, Profile, empty_profile, migrate

CODEC_VERSION = 1
_KEYS = frozenset(empty_profile())


def encode(profile: Profile) -> bytes:
    return marshal_codec.dumps(CODEC_VERSION, profile)


def decode(data: bytes) -> Profile | None:
    value = marshal_codec.loads(CODEC_VERSION, data, "a behaviour profile")
    if isinstance(value, dict) and isinstance(value.get("v"), int) and value["v"] < PROFILE_VERSION:
        value = migrate(value)  # an older layout: migrated, or None (folded again from here)
        if value is None:
            return None
    if not isinstance(value, dict) or value.keys() != _KEYS or value["v"] != PROFILE_VERSION:
        raise ValueError("behaviour profile of an unknown shape")
    return value
