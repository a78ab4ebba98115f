"""The intake forwarder: checks that organisations' own systems publish on their intake topics
(`checks.intake.<principal>`, writable only by that principal: fapiao.kafka_acls) go on to
`checks.requested` owned by the organisation their principal maps to (FAPIAO_KAFKA_INTAKE), whatever
`org_id` the payload claims (fapiao/kafka_intake.py says why). Keyed by invoice key, as the verify
agent needs; unreadable messages go to checks.dlq like every stage's."""

from __future__ import annotations

from functools import partial

import faust
import structlog

from fapiao import topics
from fapiao.domain.invoice_types import invoice_key
from fapiao.kafka_intake import forwarded, intake_topic, parse_intake_map, principal_of
from schemas.events import CheckRequested
from streams import metrics
from streams.app import Pipeline
from streams.dead_letters import decode
from streams.error_policy import StagePolicy

log = structlog.get_logger(__name__)
STAGE = "intake"


def attach(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    orgs = parse_intake_map(settings.kafka_intake)
    if not orgs:
        return
    source = pipeline.app.topic(
        *(settings.topic(intake_topic(principal)) for principal in orgs),
        partitions=settings.topic_partitions,
        key_serializer="raw",
        value_serializer="raw",
    )
    requested = pipeline.topics[topics.CHECKS_REQUESTED.name]
    policy = StagePolicy(pipeline, STAGE)

    async def forward(event: faust.EventT) -> None:
        principal = principal_of(event.message.topic, settings.topic_prefix)
        org_id = orgs.get(principal or "")
        if org_id is None:  # only subscribed topics arrive: a rename while running would be a bug
            raise RuntimeError(f"no organisation for intake topic {event.message.topic}")
        request = forwarded(decode(CheckRequested, event.value), org_id)
        key = invoice_key(request.invoice_code, request.invoice_number)
        await requested.send(key=key.encode(), value=request.model_dump_json().encode())

    async def run(stream: faust.StreamT) -> None:
        async for event in stream.events():
            metrics.EVENTS.labels(agent=STAGE).inc()
            await policy.run(event, partial(forward, event))

    pipeline.app.agent(source, name="intake", concurrency=1)(run)
    log.info("intake_forwarder", principals=sorted(orgs))
