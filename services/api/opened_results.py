"""Opening sealed results and alerts as the API's feeds receive them (fapiao.crypto.protect).

The worker seals parties, requesters and taxpayer evidence before results and alerts reach Kafka; the
API holds the keys and shows them in plaintext, but only to the organisation that owns each check or
alert (every route filters by the caller's organisation). A result or alert that does not open (a key
rotated out too early, tampering) is kept sealed and logged: the caller then sees pseudonyms, never
another organisation's data and never a 500.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from fapiao.crypto.exceptions import CryptoError
from fapiao.crypto.protect import FieldSealer
from schemas.events import CheckResult, RiskAlert
from services.api.results_feed import ResultsCache

log = structlog.get_logger(__name__)


class OpenedResultsCache(ResultsCache):
    """The results cache, handing out opened results: kept sealed as they arrive and opened when read
    or awaited. Every API process follows every result, and a 100,000-row batch's results are read
    from ClickHouse, never from here: opening each one on arrival cost the API ≈ 100 µs of CPU per
    result (10 s for such a batch, on the cores the worker needs; docs/benchmarks.md), for the few
    that anyone asks for by check id."""

    def __init__(self, capacity: int, sealer: FieldSealer) -> None:
        super().__init__(capacity)
        self._sealer = sealer

    def _shown(self, result: CheckResult) -> CheckResult:
        try:
            return self._sealer.open_result(result)
        except CryptoError as exc:
            log.error("result_does_not_open", check_id=str(result.check_id), error=str(exc))
            return result


def open_alert(sealer: FieldSealer, alert: RiskAlert) -> RiskAlert:
    """The alert opened, or as it is (sealed, logged) when it does not open."""
    try:
        return sealer.open_alert(alert)
    except CryptoError as exc:
        log.error("alert_does_not_open", alert_id=str(alert.alert_id), error=str(exc))
        return alert


def open_alerts(
    sealer: FieldSealer, publish: Callable[[RiskAlert], None]
) -> Callable[[RiskAlert, bytes], None]:
    """A follower's `on_record` that gives `publish` each alert opened (the record's bytes unused: the
    alert shown is the opened one, not the sealed JSON)."""

    def opened(alert: RiskAlert, raw: bytes) -> None:
        publish(open_alert(sealer, alert))

    return opened
