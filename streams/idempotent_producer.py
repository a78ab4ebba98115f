"""The worker's producer with idempotence on, as every producer of the project has.

faust-streaming 0.15.3 turns `enable_idempotence` on only inside transactions (exactly_once), and its
`producer_acks` default (-1, all) is not enough alone: a produce retried after a broker failover (the
leader died after writing, before answering) would append the record twice. With idempotence the new
leader drops the retry by its producer id and sequence number, so a killed broker duplicates nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka


class IdempotentProducer(faust_aiokafka.Producer):
    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class IdempotentTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport making `IdempotentProducer`s (set as `app.transport`)."""

    Producer = IdempotentProducer
