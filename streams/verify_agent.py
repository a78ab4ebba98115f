"""The verify agent: answers each `checks.requested` with a `checks.results` event.

It only moves data: decode, look the invoice up in the (co-partitioned, local) register table, call
the pure `decide`, count the check, publish. A redelivered request (same check_id) is re-answered with
the same result id and is not counted twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import faust
import structlog

from fapiao import topics
from fapiao.domain import register
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.results import build_result
from fapiao.domain.verification import decide
from schemas.events import CheckRequested
from streams import metrics
from streams.app import Pipeline
from streams.dead_letters import Unreadable, decode, require_key, send_dead_letter

log = structlog.get_logger(__name__)
STAGE = "verify"


def attach(pipeline: Pipeline) -> None:
    tz = ZoneInfo(pipeline.settings.timezone)
    table = pipeline.register
    results = pipeline.topics[topics.CHECKS_RESULTS.name]

    async def verify(stream: faust.StreamT) -> None:
        async for event in stream.events():
            metrics.EVENTS.labels(agent=STAGE).inc()
            try:
                request = decode(CheckRequested, event.value)
                key = invoice_key(request.invoice_code, request.invoice_number)
                require_key(event, key)
            except Unreadable as exc:
                await send_dead_letter(pipeline, event, str(exc), STAGE)
                continue
            entry = table.get(key)
            today = request.requested_at.astimezone(tz).date()
            seen = register.find_check(entry, str(request.check_id))
            decision = decide(request, entry, today, recheck=seen is not None)
            if seen is not None:
                number = int(seen["number"])
            elif decision.counted:
                entry = register.count_check(entry, today)
                number = int(entry["checks_total"])
            else:
                number = int((entry or {}).get("checks_total", 0))
            if decision.counted or seen is not None:
                entry = register.remember_check(
                    entry,
                    {
                        "check_id": str(request.check_id),
                        "requester": request.requester,
                        "number": number,
                        "version": 1,
                        "verdict": decision.verdict.value,
                        "request": request.model_dump(mode="json"),
                    },
                )
                table[key] = entry
            result = build_result(request, decision, decided_at=datetime.now(UTC), check_count=number)
            metrics.VERDICTS.labels(verdict=result.verdict.value).inc()
            await results.send(key=key.encode(), value=result.model_dump_json().encode())

    pipeline.app.agent(pipeline.topics[topics.CHECKS_REQUESTED.name], name="verify", concurrency=1)(verify)
