"""After an outage the register's backlog is folded before the checks queued meanwhile are answered
(streams/catch_up.py): a worker started on invoices published while it was down, and on checks of them
asked after, answers every check 一致 at once — none 待同步 (pending_sync) and then followed up, as when the
verify feed raced the register's backlog on the same fetches (issue 13, seen in clean-clone run 14).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from fapiao import topics
from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from tests.factories import check_of, issued
from tests.integration.conftest import _env, private_stack, publish_checks, publish_issued
from tests.integration.processes import cli_process

INVOICES = 6000  # the register's backlog: a few fetches of it, so unbounded checks would race it
CHECKS = 600  # of the last invoices published, asked after all of them
ANSWER_TIMEOUT = 150.0


@pytest.fixture
def outage_stack(tmp_path: Path) -> Iterator[tuple[Settings, NativeEngine]]:
    with private_stack("catchup", tmp_path) as stack:
        yield stack


async def _first_answers(settings: Settings, wanted: set[str], log: Path) -> dict[str, list[str]]:
    """check id -> the verdicts of its results on checks.results in order, once every wanted check has
    one that is not 待同步 (or the timeout)."""
    consumer = AIOKafkaConsumer(
        settings.topic(topics.CHECKS_RESULTS.name),
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    verdicts: dict[str, list[str]] = {}
    try:
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    result = json.loads(record.value)
                    verdicts.setdefault(result["check_id"], []).append(result["verdict"])
            settled = {c for c, v in verdicts.items() if v[-1] != "pending_sync"}
            if wanted <= settled:
                return verdicts
        missing = len(wanted - set(verdicts))
        raise AssertionError(f"{missing} checks unanswered:\n{log.read_text(errors='replace')[-3000:]}")
    finally:
        await consumer.stop()


async def test_checks_queued_in_an_outage_find_the_invoices_published_before_them(
    outage_stack: tuple[Settings, NativeEngine], tmp_path: Path
) -> None:
    settings, _ = outage_stack
    recent = date.today()  # within the sync window: an invoice not folded yet reads 待同步
    invoices = [issued(number=f"{80_000_000 + i:08d}", issue_date=recent) for i in range(INVOICES)]
    await publish_issued(settings, invoices)
    now = datetime.now(UTC)
    checks = [check_of(inv, requested_at=now) for inv in invoices[-CHECKS:]]
    await publish_checks(settings, checks)
    log = tmp_path / "worker.log"
    with cli_process(["worker"], _env(settings), log):
        verdicts = await _first_answers(settings, {str(c.check_id) for c in checks}, log)
    first = [verdicts[str(c.check_id)][0] for c in checks]
    pending = sum(1 for v in first if v == "pending_sync")
    assert pending == 0, f"{pending} of {CHECKS} checks answered 待同步 before their invoices were folded"
    assert set(first) == {"consistent"}
    assert "caught_up_before_checks" in log.read_text(errors="replace")
