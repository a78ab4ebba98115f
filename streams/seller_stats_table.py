"""The seller_stats table: seller tax id -> rolling statistics, stored with `fapiao.risk.seller_stats_codec`
(a version byte + marshal; it reads the JSON values older workers wrote too), its changelog compacted in
small segments (~12 KB per activity; `streams.codec_table` says why the table carries its codec).
"""

from __future__ import annotations

import faust

from fapiao.risk import seller_stats_codec
from streams.codec_table import FunctionCodec, codec_table

NAME = "seller_stats"
CODEC = FunctionCodec(seller_stats_codec.encode, seller_stats_codec.decode)


def seller_stats_table(app: faust.App, partitions: int) -> faust.Table:
    """The table, registered with the app (as `app.Table` would)."""
    return codec_table(app, NAME, partitions, CODEC)
