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
