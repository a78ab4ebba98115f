"""streams.tables.Table: a changelog the metadata lists with 0 partitions (just created) is not a
co-partitioning mismatch; a real mismatch still raises faust's PartitionsMismatch."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from faust.exceptions import PartitionsMismatch

from streams.tables import Table


class _Probe(Table):
    changelog_topic_name = "chg"  # type: ignore[assignment]


def _table(counts: dict[str, int]) -> Any:
    table = _Probe.__new__(_Probe)  # only what the check reads: no app start, no store
    table.app = SimpleNamespace(consumer=SimpleNamespace(topic_partitions=counts.get))  # type: ignore[assignment]
    table._verified_source_topics_for_partitions = set()
    table.name = "alerts_raised"
    return table


def test_a_just_created_changelog_is_not_a_mismatch_and_is_checked_again_later() -> None:
    table = _table({"src": 12, "chg": 0})
    table._verify_source_topic_partitions("src")
    assert "src" not in table._verified_source_topics_for_partitions


def test_a_real_mismatch_still_raises() -> None:
    with pytest.raises(PartitionsMismatch):
        _table({"src": 12, "chg": 4})._verify_source_topic_partitions("src")


def test_equal_counts_pass() -> None:
    _table({"src": 12, "chg": 12})._verify_source_topic_partitions("src")
