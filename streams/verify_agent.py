"""The verify agent: answers each `checks.requested` with a `checks.results` event, and re-verifies
earlier checks on `checks.rechecks` (manual refresh, sync-delay timeout).

It only moves data: decode, look the invoice up in the (co-partitioned, local) register table, call
the pure `decide`, count the check, publish. A redelivered request (same check_id) is re-answered with
the same result id and is not counted twice. A periodic sweep asks for a recheck of every check held
for sync delay whose window has run out, so it becomes 查无此票.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from uuid import UUID
from zoneinfo import ZoneInfo

import faust
import structlog

from fapiao import topics
from fapiao.domain import register
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.rechecks import expired_holds, recheck
from fapiao.domain.verification import decide
from schemas.events import CheckRecheck, CheckRequested
from streams import metrics
from streams.app import Pipeline
from streams.dead_letters import decode, require_key
from streams.error_policy import StagePolicy
from streams.results_out import publish_follow_ups, publish_verdict

log = structlog.get_logger(__name__)
STAGE = "verify"


def attach(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    tz = ZoneInfo(settings.timezone)
    window = timedelta(seconds=settings.sync_window_seconds)
    table = pipeline.register
    rechecks_topic = settings.topic(topics.CHECKS_RECHECKS.name)
    source = pipeline.app.topic(
        settings.topic(topics.CHECKS_REQUESTED.name),
        rechecks_topic,
        partitions=settings.topic_partitions,
        key_serializer="raw",
        value_serializer="raw",
    )

    async def answer(event: faust.EventT) -> None:
        request = decode(CheckRequested, event.value)
        key = invoice_key(request.invoice_code, request.invoice_number)
        require_key(event, key, settings.topic_partitions)
        entry = table.get(key)
        today = request.requested_at.astimezone(tz).date()
        seen = register.find_check(entry, str(request.check_id))
        now = datetime.now(UTC)
        decision = decide(request, entry, today, now=now, sync_window=window, recheck=seen is not None)
        if seen is not None:  # a redelivery: same number, same version, same result id
            await publish_verdict(
                pipeline, entry, request, decision, number=int(seen["number"]), version=int(seen["version"])
            )
            return
        if not decision.counted:
            number = int((entry or {}).get("checks_total", 0))
            await publish_verdict(pipeline, entry, request, decision, number=number)
            return
        before = entry
        entry = register.count_check(entry, today)
        number = int(entry["checks_total"])
        record = {
            "check_id": str(request.check_id),
            "requester": request.requester,
            "number": number,
            "version": 1,
            "verdict": decision.verdict.value,
            "request": request.model_dump(mode="json"),
        }
        table[key] = register.remember_check(entry, record)
        await publish_verdict(pipeline, before, request, decision, number=number)

    async def re_answer(event: faust.EventT) -> None:
        ask = decode(CheckRecheck, event.value)
        require_key(event, ask.invoice_key, settings.topic_partitions)
        entry = table.get(ask.invoice_key)
        record = register.find_check(entry, str(ask.check_id))
        if record is None:
            log.warning("recheck_unknown_check", check_id=str(ask.check_id), invoice_key=ask.invoice_key)
            return
        update = recheck(
            entry, record, now=datetime.now(UTC), tz=tz, sync_window=window, force=ask.reason == "refresh"
        )
        if update is not None:
            table[ask.invoice_key] = register.remember_check(entry, update.record)
            await publish_follow_ups(pipeline, entry, [update])

    policy = StagePolicy(pipeline, STAGE)

    async def verify(stream: faust.StreamT) -> None:
        async for event in stream.events():
            metrics.EVENTS.labels(agent=STAGE).inc()
            handle = re_answer if event.message.topic == rechecks_topic else answer
            await policy.run(event, partial(handle, event))

    async def sweep_sync_holds() -> None:
        now = datetime.now(UTC)
        out = pipeline.topics[topics.CHECKS_RECHECKS.name]
        for key, entry in list(table.items()):
            for check_id in expired_holds(entry, now=now, sync_window=window):
                ask = CheckRecheck(
                    check_id=UUID(check_id), invoice_key=key, reason="sync_timeout", requested_at=now
                )
                await out.send(key=key.encode(), value=ask.model_dump_json().encode())

    pipeline.app.agent(source, name="verify", concurrency=1)(verify)
    pipeline.app.timer(settings.sync_sweep_seconds, name="sweep_sync_holds")(sweep_sync_holds)
