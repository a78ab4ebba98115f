"""`fapiao webhooks`: the worker-side process that turns results and alerts on Kafka into deliveries.

Two loops on one event loop. The consumer (group `<prefix>fapiao-webhooks`, on checks.results and
risk.alerts, from the earliest offset for a new group) opens each event for its organisation, writes a
delivery row per matching subscription, and only then commits the offsets: a crash before the commit
replays events whose rows exist (unique per subscription and event: no double delivery), a crash after
it finds them in the table. The dispatcher sends whatever is due, records each attempt's answer and
schedules retries. So a restart loses nothing and a slow receiver never holds the consumer back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

import httpx
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from pydantic import ValidationError

from fapiao import topics
from fapiao.accounts.context import AccountsContext
from fapiao.crypto.exceptions import CryptoError
from fapiao.crypto.protect import FieldSealer
from fapiao.kafka_acls import WEBHOOKS_GROUP
from fapiao.kafka_auth import client_kwargs
from fapiao.mail import Mailer
from fapiao.settings import Settings
from fapiao.webhooks import policy, sender, store
from schemas.events import CheckResult, RiskAlert

log = structlog.get_logger(__name__)
GROUP = WEBHOOKS_GROUP
TARGETS_SECONDS = 2.0  # how stale the in-memory list of subscriptions may be


class WebhooksProcess:
    def __init__(self, settings: Settings, ctx: AccountsContext, sealer: FieldSealer, mailer: Mailer) -> None:
        self.settings = settings
        self.ctx = ctx
        self.sealer = sealer
        self.mailer = mailer
        self._targets: list[store.Target] = []
        self._targets_at = 0.0
        self._wake = asyncio.Event()
        self.retries = policy.Retries(
            settings.webhook_first_retry_seconds,
            settings.webhook_max_attempts,
            settings.webhook_pause_after_failures,
        )
        self.ready = asyncio.Event()  # partitions assigned: events from now on are seen

    def event_of(self, record: ConsumerRecord) -> policy.Event | None:
        """The deliverable event of a message (opened for its organisation), or None if unreadable."""
        try:
            if record.topic == self.settings.topic(topics.RISK_ALERTS.name):
                alert = RiskAlert.model_validate_json(record.value)
                return policy.alert_event(self.sealer.open_alert(alert))
            result = CheckResult.model_validate_json(record.value)
            return policy.result_event(self.sealer.open_result(result))
        except (ValidationError, CryptoError, ValueError) as exc:
            # the worker already sent unreadable input to checks.dlq; these are its own outputs
            log.error(
                "webhook_event_unreadable",
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                error=str(exc)[:200],
            )
            return None

    async def targets(self) -> list[store.Target]:
        if time.monotonic() - self._targets_at > TARGETS_SECONDS:
            self._targets = await asyncio.to_thread(store.targets, self.ctx)
            self._targets_at = time.monotonic()
        return self._targets

    async def route(self, records: Sequence[ConsumerRecord]) -> int:
        targets = await self.targets()
        if not targets:
            return 0
        by_org: dict[str, list[store.Target]] = {}
        for target in targets:
            by_org.setdefault(target.org_id, []).append(target)
        pairs = []
        for record in records:
            hint = _org_hint(record.value)
            if hint is not None and hint not in by_org:
                continue
            event = self.event_of(record)
            if event is None:
                continue
            pairs += [
                (t, event)
                for t in by_org.get(event.org_id, ())
                if policy.wants(t.events, t.created_at, event)
            ]
        made = await asyncio.to_thread(store.enqueue, self.ctx, pairs)
        if made:
            self._wake.set()
        return made

    async def consume(self) -> None:
        names = [
            self.settings.topic(topics.CHECKS_RESULTS.name),
            self.settings.topic(topics.RISK_ALERTS.name),
        ]
        consumer = AIOKafkaConsumer(
            *names,
            **client_kwargs(self.settings),
            group_id=self.settings.topic(GROUP),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=500,
        )
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                if consumer.assignment() and not self.ready.is_set():
                    self.ready.set()
                    log.info("webhooks_ready", partitions=len(consumer.assignment()))
                records = [r for batch in batches.values() for r in batch]
                if not records:
                    continue
                made = await self.route(records)
                await consumer.commit()  # after the rows exist
                log.debug("webhook_events_routed", records=len(records), deliveries=made)
        finally:
            await consumer.stop()

    async def dispatch(self, timeout: float) -> None:
        async with httpx.AsyncClient(timeout=timeout) as client:
            while True:
                due = await asyncio.to_thread(store.due, self.ctx, self.ctx.clock(), 50)
                if due:
                    now = int(time.time())
                    outcomes = await asyncio.gather(
                        *(sender.attempt(client, self.mailer, d, now) for d in due)
                    )
                    for d, outcome in zip(due, outcomes, strict=True):
                        status = await asyncio.to_thread(
                            store.record,
                            self.ctx,
                            d.id,
                            outcome.ok,
                            outcome.status_code,
                            outcome.response,
                            outcome.error,
                            self.retries,
                        )
                        log.info(
                            "webhook_attempt",
                            delivery=d.id,
                            event_id=d.event_id,
                            status=status,
                            code=outcome.status_code,
                            error=outcome.error,
                        )
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 0.5)

    async def run(self, timeout: float) -> None:
        await asyncio.gather(self.consume(), self.dispatch(timeout))


def _org_hint(value: bytes | None) -> str | None:
    """The organisation of a message without parsing all of it: most messages belong to organisations
    without subscriptions and are skipped unparsed. None when the compact form is not found (another
    producer's spacing): the message is then parsed."""
    if not value:
        return None
    at = value.find(b'"org_id":"')
    if at < 0:
        return None
    end = value.find(b'"', at + 10)
    return value[at + 10 : end].decode("utf-8", "replace") if end > 0 else None


async def run_from_settings(settings: Settings) -> None:
    """The process's entry point: the accounts store (migrated), the keys, the mailer, then both loops."""
    from fapiao.accounts.db import make_engine, migrate
    from fapiao.crypto.keys import CryptoKeys

    engine = make_engine(settings.accounts_url)
    migrate(engine)
    keys = CryptoKeys.from_settings(settings)
    ctx = AccountsContext.from_settings(settings, keys=keys, engine=engine)
    process = WebhooksProcess(settings, ctx, FieldSealer.from_keys(keys), Mailer.from_settings(settings))
    await process.run(settings.webhook_timeout_seconds)
