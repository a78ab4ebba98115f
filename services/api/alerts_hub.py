"""Fans risk alerts out to the analysts connected to `GET /v1/alerts/stream`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from schemas.events import RiskAlert

SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


@dataclass(frozen=True)
class AlertFilter:
    org_id: str
    min_severity: str = "low"
    reasons: frozenset[str] = field(default_factory=frozenset)
    seller_tax_id: str | None = None

    def matches(self, alert: RiskAlert) -> bool:
        return (
            alert.org_id == self.org_id
            and SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[self.min_severity]
            and (not self.reasons or bool(self.reasons & set(alert.reasons)))
            and (self.seller_tax_id is None or alert.seller_tax_id == self.seller_tax_id)
        )


class AlertsHub:
    """Bounded queue per subscriber; a slow subscriber loses its oldest alerts, never blocks the rest."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: dict[asyncio.Queue[RiskAlert], AlertFilter] = {}
        self._queue_size = queue_size

    def subscribe(self, wanted: AlertFilter) -> asyncio.Queue[RiskAlert]:
        queue: asyncio.Queue[RiskAlert] = asyncio.Queue(self._queue_size)
        self._subscribers[queue] = wanted
        return queue

    def unsubscribe(self, queue: asyncio.Queue[RiskAlert]) -> None:
        self._subscribers.pop(queue, None)

    def publish(self, alert: RiskAlert) -> None:
        for queue, wanted in self._subscribers.items():
            if not wanted.matches(alert):
                continue
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(alert)
