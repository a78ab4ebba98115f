"""What the API process holds open for its lifetime: the Kafka publisher, the results feed, ClickHouse,
and the worker processes that read uploaded documents."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from fapiao import topics
from fapiao.bus import Publisher
from fapiao.crypto.keys import CryptoKeys
from fapiao.crypto.protect import FieldSealer
from fapiao.documents.pool import DocumentPool, PoolLimits
from fapiao.risk.rules import DEFAULT_RULES
from fapiao.risk.rules_book import RulesBook
from fapiao.risk.rules_feed import follow_rules
from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from schemas.events import RiskAlert
from services.api.alerts_hub import AlertsHub
from services.api.opened_results import OpenedResultsCache, open_alerts
from services.api.results_feed import ResultsCache, TopicFollower, results_follower


@dataclass
class ApiState:
    settings: Settings
    publisher: Publisher
    cache: ResultsCache
    feed: TopicFollower
    alerts: AlertsHub
    alerts_feed: TopicFollower
    sealer: FieldSealer  # opens sealed results, alerts and rows for the organisation that owns them
    rules: RulesBook = field(default_factory=lambda: RulesBook(DEFAULT_RULES))  # every org's risk rules
    rules_read: asyncio.Event = field(default_factory=asyncio.Event)  # risk.rules read to its end
    rules_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one version assigned at a time
    _rules_task: asyncio.Task[None] | None = None
    # reads uploaded PDF/OFD/XML out of this process (workers start on the first document)
    documents: DocumentPool = field(default_factory=DocumentPool)
    _engine: NativeEngine | None = None
    _engine_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def build(cls, settings: Settings) -> ApiState:
        sealer = FieldSealer.from_keys(CryptoKeys.from_settings(settings))
        cache: ResultsCache = OpenedResultsCache(settings.api_results_cache_size, sealer)
        hub = AlertsHub()
        alerts_topic = settings.topic(topics.RISK_ALERTS.name)
        return cls(
            settings=settings,
            publisher=Publisher(settings),
            cache=cache,
            feed=results_follower(settings, cache),
            alerts=hub,
            alerts_feed=TopicFollower(settings, alerts_topic, RiskAlert, open_alerts(sealer, hub.publish)),
            sealer=sealer,
            documents=DocumentPool(
                PoolLimits(
                    workers=settings.document_workers,
                    memory_bytes=settings.document_memory_mb * 1024 * 1024,
                    seconds=settings.document_timeout_seconds,
                )
            ),
        )

    async def start(self) -> None:
        await self.publisher.start()
        await self.feed.start()
        await self.alerts_feed.start()
        self._rules_task = asyncio.create_task(
            follow_rules(self.settings, self.rules, self.rules_read), name="follow-risk-rules"
        )

    async def stop(self) -> None:
        if self._rules_task is not None:
            self._rules_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._rules_task
        await self.alerts_feed.stop()
        await self.feed.stop()
        await self.publisher.stop()
        await asyncio.to_thread(self.documents.close)
        if self._engine is not None:
            self._engine.close()

    async def query(self, fn, *args):  # type: ignore[no-untyped-def]
        """Run a blocking warehouse query in a thread, on one shared connection (clickhouse-driver's
        client is not safe for concurrent use)."""
        async with self._engine_lock:
            if self._engine is None:
                self._engine = NativeEngine(self.settings)
            try:
                return await asyncio.to_thread(fn, self._engine, *args)
            except Exception:
                self._engine.close()
                self._engine = None
                raise
