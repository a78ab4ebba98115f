"""End to end through the real broker, the real worker and the real ClickHouse."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from fapiao import topics
from fapiao.crypto.keys import CryptoKeys
from fapiao.crypto.protect import FieldSealer
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision
from schemas.events import InvoiceStatus, Verdict
from tests.factories import check_of, issued, status_change
from tests.integration.conftest import until_registered, wait_rows

VERDICT_SQL = (
    "SELECT verdict, mismatched_fields, check_count, seller_name, amount, invoice_status, seller_ref, "
    "seller_sealed FROM check_results FINAL WHERE check_id = %(id)s"
)


def _key(inv) -> str:  # type: ignore[no-untyped-def]
    return invoice_key(inv.invoice_code, inv.invoice_number)


async def test_checks_published_with_aiokafka_land_in_clickhouse(
    worker, engine, publisher, settings, consume
) -> None:
    genuine = issued(number="10000001")
    voided = issued(number="10000002")
    digital = issued(fplx="32", code="", number="26112000000010000003", amount="1000.00", tax="60.00")
    for inv in (genuine, voided, digital):
        await publisher.publish(topics.INVOICES_ISSUED, _key(inv), inv)
    for inv in (genuine, voided, digital):
        await until_registered(consume, settings, inv)
    await publisher.publish(topics.INVOICES_STATUS, _key(voided), status_change(voided, InvoiceStatus.VOIDED))

    cases = [
        (check_of(genuine), "consistent", [], Decimal("100.00")),
        (check_of(genuine, check_code="000000"), "inconsistent", ["check_code"], Decimal("0")),
        (check_of(digital, amount=Decimal("1000.00")), "inconsistent", ["amount"], Decimal("0")),
        (check_of(digital), "consistent", [], Decimal("1000.00")),
        (check_of(voided), "voided", [], Decimal("100.00")),
        (check_of(issued(number="19999999")), "not_found", [], Decimal("0")),
    ]
    for request, *_ in cases:
        key = invoice_key(request.invoice_code, request.invoice_number)
        await publisher.publish(topics.CHECKS_REQUESTED, key, request)

    sealer = FieldSealer.from_keys(CryptoKeys.from_settings(settings))
    for request, verdict, fields, amount in cases:
        rows = await wait_rows(engine, VERDICT_SQL, {"id": request.check_id}, 1)
        assert len(rows) == 1
        got_verdict, got_fields, count, seller, got_amount, _status, seller_ref, seller_sealed = rows[0]
        assert (got_verdict, list(got_fields), got_amount) == (verdict, fields, amount), request
        assert count >= 1
        if verdict in ("consistent", "voided"):  # the seller rests sealed (field encryption is on)
            assert seller == "" and seller_ref == sealer.tax_ref("9111010829141777X4")
            assert sealer.party_name(seller_sealed, "seller", seller_ref) == "北京海淀示例科技有限公司"


async def test_unreadable_messages_go_to_the_dead_letter_topic_and_the_worker_goes_on(
    worker, engine, publisher, settings, consume
) -> None:
    marker = uuid.uuid4().hex
    await publisher.publish_raw(settings.topic("checks.requested"), b"k1", f"not json {marker}".encode())
    bad_schema = {"schema_version": 1, "check_id": str(uuid.uuid4()), "note": marker}
    await publisher.publish_raw(settings.topic("invoices.issued"), b"k2", json.dumps(bad_schema).encode())
    inv = issued(number="10000011")
    wrong_key = inv.model_dump_json().encode()
    await publisher.publish_raw(settings.topic("invoices.issued"), b"not-the-invoice-key", wrong_key)

    letter = json.loads(await consume("checks.dlq", lambda v: marker.encode() in v and b"not json" in v))
    assert letter["source_topic"] == settings.topic("checks.requested")
    assert letter["stage"] == "verify" and "Invalid JSON" in letter["error"]
    assert isinstance(letter["partition"], int) and isinstance(letter["offset"], int)
    letter = json.loads(await consume("checks.dlq", lambda v: marker.encode() in v and b"InvoiceIssued" in v))
    assert letter["source_topic"] == settings.topic("invoices.issued") and "fplx" in letter["error"]
    letter = json.loads(await consume("checks.dlq", lambda v: b"not-the-invoice-key" in v))
    assert "message key must be the invoice key" in letter["error"]

    # the worker is still answering
    good = issued(number="10000012")
    await publisher.publish(topics.INVOICES_ISSUED, _key(good), good)
    await until_registered(consume, settings, good)
    request = check_of(good)
    await publisher.publish(topics.CHECKS_REQUESTED, _key(good), request)
    rows = await wait_rows(engine, VERDICT_SQL, {"id": request.check_id}, 1)
    assert rows[0][0] == "consistent"


async def test_a_redelivered_check_is_answered_again_but_counted_once(
    worker, engine, publisher, settings, consume
) -> None:
    inv = issued(number="10000021")
    await publisher.publish(topics.INVOICES_ISSUED, _key(inv), inv)
    await until_registered(consume, settings, inv)
    request = check_of(inv)
    await publisher.publish(topics.CHECKS_REQUESTED, _key(inv), request)
    await publisher.publish(topics.CHECKS_REQUESTED, _key(inv), request)  # redelivery
    second = check_of(inv)
    await publisher.publish(topics.CHECKS_REQUESTED, _key(inv), second)
    rows = await wait_rows(engine, VERDICT_SQL, {"id": second.check_id}, 1)
    assert rows[0][2] == 2  # 第 2 次查验: the redelivered first check did not count again
    count = await wait_rows(
        engine, "SELECT count() FROM check_results FINAL WHERE check_id = %(id)s", {"id": request.check_id}, 1
    )
    assert count[0][0] == 1


async def test_the_sink_is_idempotent_under_redelivery(worker, engine, publisher) -> None:
    invoice = issued(number="10000031")
    request = check_of(invoice)
    result = build_result(request, Decision(Verdict.NOT_FOUND), decided_at=datetime.now(UTC), check_count=1)
    for _ in range(3):  # the same result delivered three times
        await publisher.publish(topics.CHECKS_RESULTS, result.invoice_key, result)
    # a later result on the same partition: once it is stored, the three copies have been processed
    sentinel = check_of(invoice)
    later = build_result(sentinel, Decision(Verdict.NOT_FOUND), decided_at=datetime.now(UTC), check_count=2)
    await publisher.publish(topics.CHECKS_RESULTS, later.invoice_key, later)
    await wait_rows(engine, VERDICT_SQL, {"id": sentinel.check_id}, 1)

    raw = engine.execute(
        "SELECT count() FROM check_results WHERE check_id = %(id)s", {"id": request.check_id}
    )
    final = engine.execute(
        "SELECT count() FROM check_results FINAL WHERE check_id = %(id)s", {"id": request.check_id}
    )
    assert raw[0][0] >= 1
    assert final[0][0] == 1


async def test_the_daily_limit_is_five_checks_per_invoice(
    worker, engine, publisher, settings, consume
) -> None:
    inv = issued(number="10000041")
    await publisher.publish(topics.INVOICES_ISSUED, _key(inv), inv)
    await until_registered(consume, settings, inv)
    requests = [check_of(inv, requester=f"org{i}") for i in range(6)]
    for request in requests:
        await publisher.publish(topics.CHECKS_REQUESTED, _key(inv), request)
    rows = await wait_rows(engine, VERDICT_SQL, {"id": requests[-1].check_id}, 1)
    assert rows[0][0] == "limit_exceeded"
    fifth = await wait_rows(engine, VERDICT_SQL, {"id": requests[4].check_id}, 1)
    assert fifth[0][0] == "consistent" and fifth[0][2] == 5
