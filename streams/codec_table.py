"""A Faust table whose values are stored with a codec of its own (compact bytes instead of JSON), its
changelog compacted in small segments (`streams.changelogs`).

A table writes its changelog with its own `value_serializer` (faust passes it to every send, whatever
the schema says) and hands it to its store, while changelog records are read back through the schema:
both must be the codec, so the table sets it before faust creates the changelog topic or the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import faust
from faust.serializers.codecs import Codec

from streams.changelogs import COMPACTED_CHANGELOG
from streams.tables import Table


class FunctionCodec(Codec):
    """A faust codec of two pure functions (value -> bytes, bytes -> value)."""

    def __init__(self, dumps: Callable[[Any], bytes], loads: Callable[[bytes], Any]) -> None:
        super().__init__()
        self._dump, self._load = dumps, loads

    def _dumps(self, obj: Any) -> bytes:
        return self._dump(obj)

    def _loads(self, s: bytes) -> Any:
        return self._load(s)


class _CodecTable(Table):
    def __init__(self, *args: Any, codec: Codec, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.value_serializer = codec


def codec_table(app: faust.App, name: str, partitions: int, codec: Codec) -> faust.Table:
    """The table, registered with the app (as `app.Table` would)."""
    table = _CodecTable(
        app,
        name=name,
        default=None,
        beacon=app.tables.beacon,
        partitions=partitions,
        extra_topic_configs=COMPACTED_CHANGELOG,
        schema=faust.Schema(key_serializer="json", value_serializer=codec),
        codec=codec,
    )
    app.tables.add(table)
    return table
