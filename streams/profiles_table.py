"""The behaviour_profiles table: behaviour profiles (`fapiao.risk.profiles`) stored with
`fapiao.risk.profile_codec`, keyed as `fapiao.risk.profile_cache.table_key` says (seller `s|…` and
seller→buyer `p|…|…` profiles, plus each partition's own populations, buyers and requesters). The risk
agent's source is keyed by seller, so every lookup is local."""

from __future__ import annotations

import faust

from fapiao.risk import profile_codec
from streams.codec_table import FunctionCodec, codec_table

NAME = "behaviour_profiles"
CODEC = FunctionCodec(profile_codec.encode, profile_codec.decode)


def profiles_table(app: faust.App, partitions: int) -> faust.Table:
    return codec_table(app, NAME, partitions, CODEC)
