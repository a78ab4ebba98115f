"""Issue 16 item 7 through the real broker and worker: a check an enterprise system publishes on its
intake topic is answered for the organisation its principal maps to (FAPIAO_KAFKA_INTAKE), never the
one its payload names: the payload's `org_id` was all it took to act as (and read) another tenant."""

from __future__ import annotations

import json

from aiokafka import AIOKafkaProducer

from fapiao import topics
from fapiao.domain.invoice_types import invoice_key
from fapiao.kafka_auth import client_kwargs
from fapiao.kafka_intake import intake_topic
from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from tests.factories import check_of, issued
from tests.integration.conftest import INTAKE_ORG, INTAKE_PRINCIPAL, until_registered, wait_rows


async def test_the_intake_topic_decides_the_organisation(
    worker, settings: Settings, publisher, consume, engine: NativeEngine
) -> None:  # type: ignore[no-untyped-def]
    inv = issued(number="72990001")
    key = invoice_key(inv.invoice_code, inv.invoice_number)
    await publisher.publish(topics.INVOICES_ISSUED, key, inv)
    await until_registered(consume, settings, inv)
    forged = check_of(inv, requester="erp-1", org_id="org-victim")  # claims another organisation
    producer = AIOKafkaProducer(**client_kwargs(settings))
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.topic(intake_topic(INTAKE_PRINCIPAL)),
            forged.model_dump_json().encode(),
            key=key.encode(),
        )
        await producer.send_and_wait(settings.topic(intake_topic(INTAKE_PRINCIPAL)), b"not json", key=b"x")
    finally:
        await producer.stop()
    result = json.loads(await consume("checks.results", lambda v: str(forged.check_id).encode() in v, 40))
    assert result["org_id"] == INTAKE_ORG and result["verdict"] == "consistent"
    rows = await wait_rows(
        engine, "SELECT org_id FROM check_results WHERE check_id = %(id)s", {"id": forged.check_id}, 1
    )
    assert {r[0] for r in rows} == {INTAKE_ORG}  # stored for the principal's organisation only
    source = settings.topic(intake_topic(INTAKE_PRINCIPAL)).encode()  # ours: other tests share checks.dlq
    letter = await consume("checks.dlq", lambda v: source in v and b"not json" in v, 20)
    assert b"intake" in letter  # the unreadable one was dead-lettered by the intake stage
