"""The risk worker writes the seller_stats changelog with the compact codec (not Faust's JSON), and
what it writes decodes to the statistics with the new invoice counted."""

from __future__ import annotations

import time

from fapiao import topics
from fapiao.domain.invoice_types import invoice_key
from fapiao.risk import seller_stats_codec
from tests.factories import issued


async def test_the_seller_stats_changelog_holds_codec_values(worker, settings, publisher, consume) -> None:
    inv = issued(number=f"7{int(time.monotonic() * 1000) % 10_000_000:07d}")
    key = invoice_key(inv.invoice_code, inv.invoice_number)
    await publisher.publish(topics.INVOICES_ISSUED, key, inv)
    marker = f"issued:{key}"

    def has_it(value: bytes) -> bool:
        return value[:1] != b"{" and marker in seller_stats_codec.decode(value)["recent"]

    raw = await consume(f"{settings.app_id}-seller_stats-changelog", has_it, 30)
    assert raw[:1] == bytes([seller_stats_codec.CODEC_VERSION])
    stats = seller_stats_codec.decode(raw)
    assert stats["issued"] >= 1 and str(inv.buyer.tax_id) in stats["buyers"]
