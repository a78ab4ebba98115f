"""The seller_stats table codec: exact round trips, smaller than the JSON it replaces, old values load."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Literal

import faust
import pytest
from faust.serializers import codecs

from fapiao.risk import seller_stats as ss
from fapiao.risk import seller_stats_codec as codec
from schemas.events import SellerActivity
from streams.seller_stats_table import CODEC, seller_stats_table
from tests.unit.test_risk_seller_stats import BUYER, T0, act, fold_all

Kind = Literal["issued", "voided", "red_flushed"]


def _busy_seller() -> ss.Stats:
    return fold_all(_busy_activities())


def _busy_activities() -> list[SellerActivity]:
    """Several buyers, two paper series and 数电 numbers, voids and red flushes, evictions."""
    rng = random.Random(3)
    activities = []
    for i in range(1, 900):
        buyer = BUYER if i % 3 == 0 else f"9111{rng.randrange(60):014d}"  # > MAX_TRACKED_BUYERS
        code = "" if i % 7 == 0 else ("011002300111" if i % 2 else "044002200211")
        kind: Kind = "voided" if i % 40 == 0 else "red_flushed" if i % 55 == 0 else "issued"
        number = 26112000000000000000 + i if not code else i
        activities.append(
            act(number, kind=kind, buyer=buyer, code=code, at=T0 + timedelta(minutes=7 * i), amount=f"{i}.37")
        )
    return activities


def test_a_value_round_trips_exactly() -> None:
    for stats in (ss.empty_stats(), fold_all([act(1)]), fold_all([act(1, buyer="")]), _busy_seller()):
        data = codec.encode(stats)
        assert data[:1] == bytes([codec.CODEC_VERSION])
        back = codec.decode(data)
        assert back == stats
        assert list(back["numbers"]) == list(stats["numbers"])  # order decides the next buyer evicted
        assert all(back["numbers"][b] == e for b, e in stats["numbers"].items())  # entry order too
        assert back["log_mean"] == stats["log_mean"] and back["log_m2"] == stats["log_m2"]  # bit-exact


def test_folding_onto_a_decoded_value_is_folding_onto_the_original() -> None:
    stats = _busy_seller()
    back = codec.decode(codec.encode(stats))
    nxt = act(5000, at=T0 + timedelta(days=9), amount="12345.00")
    assert ss.fold_activity(back, nxt) == ss.fold_activity(stats, nxt)
    for again in _busy_activities()[-ss.MAX_RECENT_KEYS :]:  # redelivered: already counted
        assert ss.fold_activity(back, again) == back == stats


def test_the_encoding_is_smaller_than_the_json_it_replaces() -> None:
    stats = _busy_seller()
    old = codecs.get_codec("json").dumps(stats)
    assert len(codec.encode(stats)) < 0.85 * len(old)  # 0.74 for demo sellers


def test_a_value_written_by_the_old_json_codec_still_loads() -> None:
    """Version 1: the dict as Faust's json codec wrote it to the changelog before this codec."""
    stats = _busy_seller()
    old = codecs.get_codec("json").dumps(stats)
    assert old[:1] == b"{"
    loaded = codec.decode(old)
    assert loaded == stats
    nxt = act(5000, at=T0 + timedelta(days=9))
    assert ss.fold_activity(loaded, nxt) == ss.fold_activity(stats, nxt)
    assert codec.decode(codec.encode(loaded)) == stats
    legacy = json.dumps(fold_all([act(1), act(2, kind="voided")])).encode()  # plain json.dumps, spaces
    assert codec.decode(legacy)["voided"] == 1


@pytest.mark.parametrize(
    "data",
    [b"", b"\x07abc", b"\x02", b"\x02garbage", b"[1,2]", b'{"v": 1}', codec.encode({"v": 1})],
)
def test_anything_else_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        codec.decode(data)


def test_the_table_writes_and_reads_its_changelog_with_the_codec() -> None:
    app = faust.App("seller-stats-codec-test", broker="memory://", store="memory://")
    table = seller_stats_table(app, partitions=2)
    assert table.value_serializer is CODEC  # what faust passes to every changelog send
    assert table.changelog_topic.schema.value_serializer is CODEC  # how changelog records are read back
    stats = _busy_seller()
    assert CODEC.dumps(stats) == codec.encode(stats)
    assert CODEC.loads(codec.encode(stats)) == stats
