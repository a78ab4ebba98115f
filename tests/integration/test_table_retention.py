"""Bounded tables on the real broker: an invoice past the five-year window leaves the register, and a
seller whose only activity is that old leaves seller_stats, each as a tombstone on its changelog (so
compaction drops them there too), found by the chunked retention sweeps (streams/table_sweep.py, every
0.5 s in the session worker); an invoice inside the window stays."""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from aiokafka import AIOKafkaConsumer

from fapiao import topics
from fapiao.bus import Publisher
from fapiao.domain.invoice_types import invoice_key
from fapiao.settings import Settings
from schemas.events import Party
from tests.factories import issued

TIMEOUT = 30.0


def _json_key(value: str) -> bytes:
    return f'"{value}"'.encode()  # faust's JSON key serializer


async def test_an_expired_invoice_and_its_seller_leave_their_tables_with_changelog_tombstones(
    worker: object, settings: Settings, publisher: Publisher
) -> None:
    first = random.randrange(20_000_000, 89_000_000)
    seller = Party(name="久未开票有限公司", tax_id=f"91110108{first:010d}")  # only this old invoice
    old = issued(number=f"{first:08d}", issue_date=date.today() - timedelta(days=5 * 366 + 2))
    old = old.model_copy(update={"seller": seller})
    fresh = issued(number=f"{first + 1:08d}", issue_date=date.today() - timedelta(days=3))
    old_key, fresh_key = (_json_key(invoice_key(i.invoice_code, i.invoice_number)) for i in (old, fresh))
    seller_key = _json_key(seller.tax_id or "")
    await publisher.publish_many(
        (topics.INVOICES_ISSUED, invoice_key(i.invoice_code, i.invoice_number), i) for i in (old, fresh)
    )

    register_log = f"{settings.faust_app_id}-register-changelog"
    sellers_log = f"{settings.faust_app_id}-seller_stats-changelog"
    seen: dict[tuple[str, bytes], list[bytes | None]] = {
        (register_log, old_key): [],
        (register_log, fresh_key): [],
        (sellers_log, seller_key): [],
    }
    consumer = AIOKafkaConsumer(
        register_log, sellers_log, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest"
    )

    async def read(seconds: float, until_tombstones: bool) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if (
                until_tombstones
                and None in seen[register_log, old_key]
                and None in seen[sellers_log, seller_key]
            ):
                return
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    if (record.topic, record.key) in seen:
                        seen[record.topic, record.key].append(record.value)

    await consumer.start()
    try:
        await read(TIMEOUT, until_tombstones=True)
        await read(1.5, until_tombstones=False)  # a few more sweeps: the fresh invoice must still be there
    finally:
        await consumer.stop()

    for what, log in (("invoice", seen[register_log, old_key]), ("seller", seen[sellers_log, seller_key])):
        assert log and log[0] is not None, f"the expired {what} was never stored"
        assert log[-1] is None, f"no tombstone for the expired {what} within {TIMEOUT:.0f} s: {log!r}"
    kept = seen[register_log, fresh_key]
    assert kept and None not in kept, "an invoice inside the five-year window was removed"
