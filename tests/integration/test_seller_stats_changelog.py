"""The risk worker writes the seller_stats changelog with the compact codec (not Faust's JSON), what it
writes decodes to the statistics with the new invoice counted, and every table's changelog is compacted
in small segments (Faust created them with the tables' config)."""

from __future__ import annotations

import time

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from fapiao import topics
from fapiao.domain.invoice_types import invoice_key
from fapiao.kafka_auth import client_kwargs
from fapiao.risk import seller_stats_codec
from streams.changelogs import COMPACTED_CHANGELOG
from tests.factories import issued


async def test_the_seller_stats_changelog_holds_codec_values(worker, settings, publisher, consume) -> None:
    inv = issued(number=f"7{int(time.monotonic() * 1000) % 10_000_000:07d}")
    key = invoice_key(inv.invoice_code, inv.invoice_number)
    await publisher.publish(topics.INVOICES_ISSUED, key, inv)
    marker = f"issued:{key}"

    def has_it(value: bytes) -> bool:
        # (None: a tombstone, a seller without activity for five years leaving the table)
        return (
            value is not None and value[:1] != b"{" and marker in seller_stats_codec.decode(value)["recent"]
        )

    raw = await consume(f"{settings.app_id}-seller_stats-changelog", has_it, 30)
    assert raw[:1] == bytes([seller_stats_codec.CODEC_VERSION])
    stats = seller_stats_codec.decode(raw)
    assert stats["issued"] >= 1 and str(inv.buyer.tax_id) in stats["buyers"]


@pytest.mark.parametrize("table", ["seller_stats", "register", "alerts_raised", "sync_holds"])
async def test_every_changelog_is_compacted_in_small_segments(worker, settings, table) -> None:
    admin = AIOKafkaAdminClient(**client_kwargs(settings), request_timeout_ms=15000)
    await admin.start()
    try:
        topic = f"{settings.faust_app_id}-{table}-changelog"
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    [(error, _, _, _, entries)] = response.resources  # (error, message, type, name, configs)
    assert error == 0
    config = {name: value for name, value, *_ in entries}
    assert config["cleanup.policy"] == "compact"
    for name, value in COMPACTED_CHANGELOG.items():
        assert float(config[name]) == value, name
