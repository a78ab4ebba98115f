from __future__ import annotations

from fapiao import topics
from fapiao.settings import Settings


def test_topic_names_are_unique_and_all_keyed_for_co_partitioning() -> None:
    names = [t.name for t in topics.ALL]
    assert len(names) == len(set(names))
    assert {
        "invoices.issued",
        "invoices.status",
        "checks.requested",
        "checks.results",
        "risk.alerts",
        "checks.dlq",
    } <= set(names)
    co_partitioned = [
        topics.INVOICES_ISSUED,
        topics.INVOICES_STATUS,
        topics.CHECKS_REQUESTED,
        topics.CHECKS_RECHECKS,
    ]
    assert {t.key for t in co_partitioned} == {"invoice key"}


def test_settings_come_from_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FAPIAO_TOPIC_PREFIX", "x-")
    monkeypatch.setenv("FAPIAO_TOPIC_PARTITIONS", "8")
    settings = Settings()
    assert settings.topic("checks.requested") == "x-checks.requested"
    assert settings.topic_partitions == 8
    assert settings.faust_app_id == "x-fapiao-sentinel"


def test_default_partition_count_is_at_least_four() -> None:
    assert Settings.model_fields["topic_partitions"].default >= 4


def test_producer_linger_is_one_setting_for_worker_and_publishers(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from fapiao.bus import Publisher
    from streams.app import create_app

    monkeypatch.setenv("FAPIAO_PRODUCER_LINGER_MS", "4")
    settings = Settings(data_dir=tmp_path)
    assert settings.producer_linger_ms == 4
    assert create_app(settings).app.conf.producer_linger == 0.004

    async def linger_seconds(**kwargs: int) -> float:
        publisher = Publisher(settings, **kwargs)
        linger = float(publisher._producer._message_accumulator._linger_time)
        await publisher.stop()
        return linger

    assert asyncio.run(linger_seconds()) == 0.004
    assert asyncio.run(linger_seconds(linger_ms=20)) == 0.02
