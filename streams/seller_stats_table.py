"""The seller_stats table: seller tax id -> rolling statistics, stored with `fapiao.risk.seller_stats_codec`
(a version byte + marshal; it reads the JSON values older workers wrote too), its changelog compacted in
small segments (`streams.changelogs`).

A table writes its changelog with its own `value_serializer` (faust passes it to every send, whatever
the schema says) and hands it to its store, while changelog records are read back through the schema:
both must be the codec, so the table sets it before faust creates the changelog topic or the store.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.serializers.codecs import Codec

from fapiao.risk import seller_stats_codec
from streams.changelogs import COMPACTED_CHANGELOG

NAME = "seller_stats"


class SellerStatsCodec(Codec):
    def _dumps(self, obj: Any) -> bytes:
        return seller_stats_codec.encode(obj)

    def _loads(self, s: bytes) -> Any:
        return seller_stats_codec.decode(s)


class _SellerStatsTable(faust.Table):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.value_serializer = CODEC


CODEC = SellerStatsCodec()


def seller_stats_table(app: faust.App, partitions: int) -> faust.Table:
    """The table, registered with the app (as `app.Table` would)."""
    table = _SellerStatsTable(
        app,
        name=NAME,
        default=None,
        beacon=app.tables.beacon,
        partitions=partitions,
        extra_topic_configs=COMPACTED_CHANGELOG,  # ~12 KB per activity
        schema=faust.Schema(key_serializer="json", value_serializer=CODEC),
    )
    app.tables.add(table)
    return table
